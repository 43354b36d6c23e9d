/**
 * The pages of /oauth/authorize (sign-in, consent) and /oauth/logout: plain HTML, no script,
 * labelled fields, errors announced (role="alert"), every interpolated value escaped. Rendered only
 * for a known client and a registered redirect URI. The referrer policy is the response header's
 * alone (no <meta> beside it: two policies were one too many, and the meta's no-referrer made
 * Chromium post the form with `Origin: null`).
 */
import { createHash } from 'node:crypto';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}[role=alert]{color:#a00;border:1px solid #a00;padding:.5rem}`;

/** For the page's Content-Security-Policy: the one inline style block, by hash (no 'unsafe-inline'). */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPageOptions {
  clientName: string;
  /** The signed authorization request (hidden field). */
  request: string;
  email?: string;
  error?: string;
  scope: string | null;
}

export function loginPage(options: LoginPageOptions): string {
  const alert = options.error === undefined ? '' : `<p role="alert" id="login-error">${escapeHtml(options.error)}</p>\n`;
  const described = options.error === undefined ? '' : ' aria-describedby="login-error"';
  const scope = options.scope === null ? '' : `<p>It asks for: ${escapeHtml(options.scope)}</p>\n`;
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p><strong>${escapeHtml(options.clientName)}</strong> wants to access your account.</p>
${scope}${alert}<form method="post" action="/oauth/authorize">
<input type="hidden" name="request" value="${escapeHtml(options.request)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}>
<button type="submit">Sign in</button>
</form>`,
  );
}

export interface ConsentPageOptions {
  clientName: string;
  /** The signed consent request (hidden field). */
  consent: string;
  /** Who signed in, so the person sees which account they are about to share. */
  email: string;
  scopes: readonly string[];
  describe: (scope: string) => string;
}

/** The consent step after sign-in: the client, the scopes in plain words, Allow or Deny. */
export function consentPage(options: ConsentPageOptions): string {
  const items = options.scopes.map((scope) => `<li>${escapeHtml(options.describe(scope))}</li>`).join('\n');
  const list = items === '' ? '<p>It asks for no access beyond knowing that you signed in.</p>' : `<ul>\n${items}\n</ul>`;
  return page(
    'Allow access?',
    `<h1>Allow ${escapeHtml(options.clientName)} to access your account?</h1>
<p>You are signed in as <strong>${escapeHtml(options.email)}</strong>. <strong>${escapeHtml(options.clientName)}</strong> would be able to:</p>
${list}
<form method="post" action="/oauth/authorize/consent">
<input type="hidden" name="consent" value="${escapeHtml(options.consent)}">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p>You can withdraw this later in your account settings.</p>`,
  );
}

export interface CodePageOptions {
  clientName: string;
  /** The signed authorization request (hidden field). */
  request: string;
  /** The two-step login's token (hidden field): the password was right. */
  mfaToken: string;
  error?: string;
}

/** The second step of a sign-in for an account with a second factor: the code from the app (or a recovery code). */
export function codePage(options: CodePageOptions): string {
  const alert = options.error === undefined ? '' : `<p role="alert" id="code-error">${escapeHtml(options.error)}</p>\n`;
  const described = options.error === undefined ? '' : ' aria-describedby="code-error"';
  return page(
    'Two-factor authentication',
    `<h1>Two-factor authentication</h1>
<p>Signing in to <strong>${escapeHtml(options.clientName)}</strong>. Enter the code from your authenticator app.</p>
${alert}<form method="post" action="/oauth/authorize/mfa">
<input type="hidden" name="request" value="${escapeHtml(options.request)}">
<input type="hidden" name="mfa_token" value="${escapeHtml(options.mfaToken)}">
<label for="code">Authentication code (or a recovery code)</label>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required${described}>
<button type="submit">Verify</button>
</form>`,
  );
}

/** RP-initiated logout without a place to return to. */
export function signedOutPage(): string {
  return page('Signed out', '<h1>You are signed out</h1>\n<p>You can close this window.</p>');
}

/** An error the user must see (never redirected: the redirect URI is not trusted yet). */
export function errorPage(message: string): string {
  return page('Sign-in error', `<h1>This sign-in request cannot be completed</h1>\n<p role="alert">${escapeHtml(message)}</p>\n<p>Go back to the application and start again.</p>`);
}
