/**
 * The ID token of a user grant whose scope holds `openid` (OIDC Core 1.0 §3.1.3.3, §12.2): signed
 * by the current key beside the access token, for the client (`aud`, `azp`), naming the session
 * (`sid`) and when its password was checked (`auth_time`); `email` and `email_verified` only with
 * scope `email`. Lives as long as an access token.
 */
import { scopeSet, signIdToken } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import type { OAuthClientRow, SessionRow, UserRow } from '../db/schema.js';
import { AuthErrors } from '../errors.js';
import { issuerId } from './issuer.js';

export const OPENID_SCOPE = 'openid';
export const EMAIL_SCOPE = 'email';

export type IdTokenUser = Pick<UserRow, 'id' | 'email' | 'email_verified_at'>;

/** The ID token for `accessToken`, or undefined when the scope does not hold `openid`. */
export async function idTokenFor(
  ctx: Pick<AuthContext, 'config' | 'keys'>,
  client: Pick<OAuthClientRow, 'id'>,
  user: IdTokenUser,
  session: Pick<SessionRow, 'id' | 'auth_time'>,
  scope: string | null,
  accessToken: string,
  nonce?: string | null,
): Promise<string | undefined> {
  const granted = scopeSet(scope);
  if (!granted.has(OPENID_SCOPE)) return undefined;
  const key = ctx.keys.signingKey();
  if (!key) throw AuthErrors.noSigningKey();
  return signIdToken(
    key,
    {
      sub: user.id,
      clientId: client.id,
      authTime: Math.floor(session.auth_time.getTime() / 1000),
      sid: session.id,
      accessToken,
      nonce: nonce ?? undefined,
      email: granted.has(EMAIL_SCOPE) ? { email: user.email, verified: user.email_verified_at !== null } : undefined,
    },
    { issuer: issuerId(ctx.config), ttlSeconds: ctx.config.accessTokenTtl },
  );
}
