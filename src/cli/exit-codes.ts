/** Exit codes of the `accord` command (documented in `accord --help` and the README). */
export const EXIT = {
  ok: 0,
  /** Something failed while running (a remote system, the store, a bug). */
  failure: 1,
  /** The input is invalid: a bad integration file, option or argument. Nothing was changed. */
  invalid: 2,
  /** A remote system refused our credentials or could not be reached. */
  unreachable: 3,
  /** The run finished, but some records were quarantined or held for review. */
  attention: 4,
  /** Stopped by Ctrl-C / SIGTERM. */
  interrupted: 130,
} as const;

export const EXIT_HELP = `Exit codes:
  0    success
  1    failure while running (remote system, store, or a bug; the message says which)
  2    invalid input: integration file, option or argument (nothing was changed)
  3    a remote system refused the credentials or could not be reached
  4    finished, but records were quarantined or held for review (see \`accord review list\`)
  130  interrupted (Ctrl-C)`;
