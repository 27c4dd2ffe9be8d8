/**
 * A minimal SMTP client over node:net for alert e-mails: plain SMTP (EHLO, MAIL FROM, RCPT TO,
 * DATA, QUIT) to a relay the operator runs (a local MTA or a smarthost that accepts the host).
 * No STARTTLS and no AUTH: point it at a relay on localhost or a trusted network; say so in docs.
 */
import { connect } from "node:net";

export interface SmtpMessage {
  host: string;
  port: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  timeoutMs?: number;
}

function header(v: string): string {
  return v.replace(/[\r\n]+/g, " ");
}

export async function sendMail(m: SmtpMessage): Promise<void> {
  const sock = connect({ host: m.host, port: m.port });
  sock.setEncoding("utf8");
  const timeout = m.timeoutMs ?? 10_000;
  let buf = "";
  const waiters: Array<(line: string) => void> = [];
  let failed: Error | undefined;
  const fail = (e: Error) => {
    failed ??= e;
    for (const w of waiters.splice(0)) w("");
  };
  sock.on("data", (d: string) => {
    buf += d;
    for (;;) {
      // a complete reply: its last line is "NNN text" (multi-line replies use "NNN-")
      const lines = buf.split("\r\n");
      const done = lines.findIndex((l) => /^\d{3} /.test(l));
      if (done < 0) return;
      const reply = lines.slice(0, done + 1).join("\n");
      buf = lines.slice(done + 1).join("\r\n");
      const w = waiters.shift();
      if (w) w(reply);
    }
  });
  sock.on("error", fail);
  sock.on("close", () => fail(new Error(`SMTP ${m.host}:${m.port} closed the connection`)));
  sock.setTimeout(timeout, () => {
    fail(new Error(`SMTP ${m.host}:${m.port} did not answer within ${timeout} ms`));
    sock.destroy();
  });
  const reply = () =>
    new Promise<string>((resolve, reject) => {
      if (failed) return reject(failed);
      waiters.push((r) => (failed ? reject(failed) : resolve(r)));
    });
  const expect = async (code: string, what: string) => {
    const r = await reply();
    if (!r.startsWith(code)) throw new Error(`SMTP ${m.host}:${m.port} refused ${what}: ${r.split("\n").pop()}`);
  };
  const send = async (line: string, code: string, what: string) => {
    const p = expect(code, what);
    sock.write(`${line}\r\n`);
    await p;
  };
  try {
    await expect("220", "the connection");
    await send("EHLO accord", "250", "EHLO");
    await send(`MAIL FROM:<${header(m.from)}>`, "250", "the sender");
    for (const to of m.to) await send(`RCPT TO:<${header(to)}>`, "25", `the recipient ${to}`);
    await send("DATA", "354", "DATA");
    const body = [
      `From: ${header(m.from)}`,
      `To: ${m.to.map(header).join(", ")}`,
      `Subject: ${header(m.subject)}`,
      `Date: ${new Date().toUTCString()}`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      ...m.text.split(/\r?\n/).map((l) => (l.startsWith(".") ? `.${l}` : l)),
    ].join("\r\n");
    await send(`${body}\r\n.`, "250", "the message");
    sock.write("QUIT\r\n");
  } finally {
    sock.end();
    sock.destroy();
  }
}
