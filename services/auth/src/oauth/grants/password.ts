/**
 * grant_type=password (RFC 6749 §4.3): first-party public clients only (the registry and the
 * database refuse it for others; checked here again so a row edited by hand cannot hand a
 * third-party app the user's password), switched off by PASSWORD_GRANT_ENABLED=false. Same
 * equal-time check and the same rate limits as POST /auth/login. Scope: the client's registration,
 * `admin` only for admins.
 *
 * An account with a second factor cannot sign in here: RFC 6749 has no step for a code, so after
 * the right password it gets invalid_grant saying a second factor is required (the client signs
 * in through /oauth/authorize or /auth/login instead; docs/decisions-auth.md, "The password grant
 * and a second factor"). A wrong password gets the usual answer, so this reveals the factor only
 * to whoever knows the password.
 */
import { startSession } from '../../sessions/service.js';
import { idempotencyKeyOf } from '@keygate/service-kit';
import { loginAttemptId } from '../../sessions/login-key.js';
import { mfaEnabled } from '../../mfa/service.js';
import { authenticatePassword } from '../../accounts/service.js';
import { assertMayLogIn } from '../../accounts/email-verification.js';
import { requestMeta } from '../../http/authenticate.js';
import { OAuthErrors } from '../errors.js';
import { parseScope, registeredScope, scopeForRole } from '../scopes.js';
import { userTokenResponse } from './issue.js';
import { required, type GrantHandler } from './types.js';

export const passwordGrant: GrantHandler = async ({ ctx, client, params, request, loginLimiter }) => {
  if (!client.first_party || !client.public) throw OAuthErrors.unauthorizedClient('The password grant is for first-party public clients only.');
  const username = required(params, 'username');
  const password = required(params, 'password');
  const asked = registeredScope(parseScope(params.scope), client.scopes);
  // Keyed on `username`, the identifier verified below, whatever other parameters the body carries;
  // a resend of this attempt (same Idempotency-Key and credentials) is counted once.
  const idempotencyKey = idempotencyKeyOf(request.headers);
  await loginLimiter.check(username, request, loginAttemptId(ctx.config, idempotencyKey, username, password));
  const meta = requestMeta(request);
  const user = await authenticatePassword(ctx, username, password, meta);
  if (!user) {
    ctx.metrics.logins.inc({ outcome: 'invalid_credentials' });
    throw OAuthErrors.invalidGrant('The username or password is wrong.');
  }
  assertMayLogIn(ctx.config, user);
  if (await mfaEnabled(ctx.db, user.id)) {
    ctx.metrics.logins.inc({ outcome: 'mfa_required' });
    throw OAuthErrors.invalidGrant('mfa_required: this account has a second factor; the password grant cannot ask for it. Sign in through /oauth/authorize or POST /auth/login.');
  }
  const scope = scopeForRole(asked, user.role);
  // A repeat with the request's Idempotency-Key (nginx's resend) supersedes the first try's session.
  const { session, refreshToken } = await startSession(ctx, user, client.id, meta, { scope, auditDetails: { client_id: client.id, grant: 'password' }, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
  ctx.metrics.logins.inc({ outcome: 'success' });
  request.log.info({ userId: user.id, sessionId: session.id, clientId: client.id }, 'oauth password grant');
  return userTokenResponse(ctx, client, user, session, refreshToken, scope);
};
