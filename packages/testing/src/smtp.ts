/**
 * A capture SMTP server for tests (nodemailer's smtp-server): receives what the auth service
 * sends over SMTP_URL, decodes each message's text part, and can be stopped (connections refused)
 * and started again on the same port, for outage tests.
 */
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  /** The text/plain part, decoded. */
  text: string;
  raw: string;
}

export interface CaptureSmtp {
  /** smtp://127.0.0.1:<port> */
  url: string;
  port: number;
  mails: CapturedMail[];
  running: boolean;
  /** Closes the listener: new connections are refused until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Resolves with the first mail (from now on or already received) that `match` accepts; rejects after `timeoutMs`. */
  waitFor(match: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function splitHead(part: string): { headers: Map<string, string>; body: string } {
  const at = part.search(/\r?\n\r?\n/);
  const head = at < 0 ? part : part.slice(0, at);
  const body = at < 0 ? '' : part.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The first text/plain part of a (possibly multipart) message. */
function textPart(raw: string): string {
  const { headers, body } = splitHead(raw);
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || boundary === undefined) return decodeBody(headers, body);
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break;
    const text = textPart(part.replace(/^\r?\n/, ''));
    if (text !== '') return text;
  }
  return '';
}

function decodeSubject(value: string): string {
  // RFC 2047 encoded words, as nodemailer writes non-ASCII subjects.
  return value.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')));
}

export async function startCaptureSmtp(port = 0): Promise<CaptureSmtp> {
  const mails: CapturedMail[] = [];
  const waiters = new Set<() => void>();
  let server: SMTPServer | undefined;
  const listen = async (onPort: number): Promise<number> => {
    const created = new SMTPServer({
      authOptional: true,
      // Plain SMTP on loopback: no certificate for nodemailer to distrust.
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const { headers } = splitHead(raw);
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: decodeSubject(headers.get('subject') ?? ''),
            messageId: headers.get('message-id') ?? '',
            text: textPart(raw),
            raw,
          });
          for (const wake of waiters) wake();
          callback();
        });
      },
    });
    // The same port after a stop: retried briefly in case the old socket is still closing.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await new Promise<void>((resolve, reject) => {
          created.once('error', reject);
          created.listen(onPort, '127.0.0.1', () => {
            created.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    created.on('error', () => undefined);
    server = created;
    const address = created.server.address();
    return typeof address === 'object' && address ? address.port : onPort;
  };
  const bound = await listen(port);
  const capture: CaptureSmtp = {
    url: `smtp://127.0.0.1:${bound}`,
    port: bound,
    mails,
    running: true,
    async stop() {
      const current = server;
      server = undefined;
      capture.running = false;
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    async start() {
      if (server) return;
      await listen(bound);
      capture.running = true;
    },
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = mails.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${mails.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
  return capture;
}
