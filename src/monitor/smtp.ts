/**
 * Alert e-mails over SMTP through nodemailer: STARTTLS (required by default for any host that is
 * not this machine), implicit TLS (port 465), or plain SMTP to a relay on this machine; AUTH with a
 * user and a password that comes from the environment (`password: "${SMTP_PASSWORD}"` in the file).
 */
import nodemailer from "nodemailer";

/** How the connection is protected: STARTTLS required, TLS from the first byte, or none (a local relay). */
export type SmtpTls = "starttls" | "tls" | "none";

export interface SmtpMessage {
  host: string;
  port: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  tls?: SmtpTls;
  user?: string;
  /** Already resolved from the environment; never logged. */
  password?: string;
  timeoutMs?: number;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/** The default protection for a host: none for a relay on this machine, STARTTLS required elsewhere. */
export function defaultSmtpTls(host: string): SmtpTls {
  return LOOPBACK.has(host.toLowerCase()) ? "none" : "starttls";
}

function header(v: string): string {
  return v.replace(/[\r\n]+/g, " ");
}

export async function sendMail(m: SmtpMessage): Promise<void> {
  const tls = m.tls ?? defaultSmtpTls(m.host);
  const timeout = m.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    host: m.host,
    port: m.port,
    secure: tls === "tls",
    requireTLS: tls === "starttls",
    ignoreTLS: tls === "none",
    ...(m.user ? { auth: { user: m.user, pass: m.password ?? "" } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    name: "accord",
  });
  try {
    await transport.sendMail({
      from: header(m.from),
      to: m.to.map(header),
      subject: header(m.subject),
      text: m.text,
    });
  } catch (err) {
    const e = err as Error & { code?: string; response?: string };
    const why =
      e.code === "ETLS" || /STARTTLS/i.test(e.message)
        ? `the server does not offer STARTTLS (monitor.smtp.tls is "starttls"; use "tls" for port 465, or "none" only for a relay on this machine)`
        : e.code === "EAUTH"
          ? `authentication failed for user ${m.user ?? "(none)"} (check monitor.smtp.user and the password variable)`
          : (e.response ?? e.message);
    throw new Error(`SMTP ${m.host}:${m.port} (${tls}): ${why}`);
  } finally {
    transport.close();
  }
}
