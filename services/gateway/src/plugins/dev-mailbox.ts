/**
 * GET /dev/mailbox (development only; not registered in production, so 404 there): the mail the
 * auth service keeps in its outbox when SMTP_URL is unset, newest first, with its links
 * clickable, so `pnpm start` needs no mail server for the verify and reset links. The gateway has
 * no database: it reads GET /internal/mailbox on the auth service with its own proof, as it reads
 * the revocation list. Plain HTML under a CSP that allows no script and no style from anywhere.
 */
import type { FastifyPluginAsync } from 'fastify';
import { INTERNAL_MAILBOX_PATH, type MailboxEntry as Mail } from '@keygate/internal-api';
import { getAuthInternal, type AuthInternalOptions } from '../auth-internal.js';
import { GatewayErrors } from '../errors.js';

export const DEV_MAILBOX_PATH = '/dev/mailbox';
const CSP = "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export type DevMailboxOptions = AuthInternalOptions;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The text with every http(s) URL made a link; everything else escaped. */
function linkify(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"']+/g)) {
    out += escapeHtml(text.slice(last, match.index));
    const url = escapeHtml(match[0]);
    out += `<a href="${url}">${url}</a>`;
    last = match.index + match[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

export function mailboxPage(mails: readonly Mail[]): string {
  const items = mails.map((mail) => `<article>
<h2>${escapeHtml(mail.subject)}</h2>
<p>To: ${escapeHtml(mail.to)} · ${escapeHtml(mail.created_at)}${mail.sent_at === null ? ' · kept here (no SMTP_URL)' : ` · sent ${escapeHtml(mail.sent_at)}`}</p>
<pre>${linkify(mail.text)}</pre>
</article>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Development mailbox</title></head>
<body>
<h1>Development mailbox</h1>
<p>Mail the auth service would send, newest first (the latest 50). Development only: production sends through SMTP_URL.</p>
${items.length === 0 ? '<p>No mail yet.</p>' : items.join('\n<hr>\n')}
</body></html>
`;
}

export const devMailbox: FastifyPluginAsync<DevMailboxOptions> = async (app, options) => {
  app.get(DEV_MAILBOX_PATH, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    let mails: Mail[];
    try {
      const { messages } = await getAuthInternal(options, INTERNAL_MAILBOX_PATH);
      if (!Array.isArray(messages)) throw new Error('the auth service did not answer a mailbox');
      mails = messages as Mail[];
    } catch (err) {
      request.log.warn({ err }, 'development mailbox unavailable');
      throw GatewayErrors.badGateway('The auth service did not hand over its mailbox.');
    }
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-store')
      .send(mailboxPage(mails));
  });
};
