/**
 * The mails keygate sends, each in plain text and simple HTML. Links are built from APP_URL when
 * set (a front end elsewhere), else ISSUER (the gateway, whose demo page at / handles them). The
 * token travels in the URL's fragment: browsers never send a fragment to a server nor put it in a
 * Referer, so the token reaches only the page's own script.
 */
import type { AuthConfig } from '../config.js';
import type { NewMail } from './repository.js';

export type MailKind = 'verify_email' | 'password_reset';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<APP_URL or ISSUER>#<param>=<token>` (an existing path of APP_URL is kept). */
export function mailLink(config: Pick<AuthConfig, 'appUrl' | 'issuer'>, param: string, token: string): string {
  const link = new URL(config.appUrl ?? config.issuer);
  if (link.pathname === '') link.pathname = '/';
  link.hash = `${param}=${token}`;
  return link.toString();
}

function compose(kind: MailKind, to: string, subject: string, lines: readonly string[], link: string): NewMail {
  const text = [...lines, '', link, ''].join('\n');
  const paragraphs = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
  const html = `<!doctype html>\n<html><body>\n${paragraphs}\n<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>\n</body></html>\n`;
  return { kind, to, subject, text, html };
}

export function verificationMail(config: Pick<AuthConfig, 'appUrl' | 'issuer' | 'emailVerificationTtl'>, to: string, token: string): NewMail {
  const hours = Math.max(1, Math.round(config.emailVerificationTtl / 3600));
  return compose('verify_email', to, 'Confirm your email address', [
    'Welcome to keygate.',
    `Open this link to confirm that ${to} is your address. It works once and for ${hours} hour${hours === 1 ? '' : 's'}.`,
    'If you did not create an account, ignore this mail.',
  ], mailLink(config, 'verify_email', token));
}

export function passwordResetMail(config: Pick<AuthConfig, 'appUrl' | 'issuer' | 'passwordResetTtl'>, to: string, token: string): NewMail {
  const minutes = Math.max(1, Math.round(config.passwordResetTtl / 60));
  return compose('password_reset', to, 'Reset your password', [
    'Someone (we hope you) asked to reset the password of your keygate account.',
    `Open this link to choose a new one. It works once and for ${minutes} minute${minutes === 1 ? '' : 's'}; every session of the account is signed out.`,
    'If you did not ask for this, ignore this mail: your password stays as it is.',
  ], mailLink(config, 'reset_password', token));
}
