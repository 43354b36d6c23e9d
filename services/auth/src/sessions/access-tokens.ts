/**
 * Issues an access token with the instance's current key, and the token response every grant
 * returns. Reused as-is by POST /oauth/token (issue 7).
 */
import { signAccessToken, type NewAccessToken } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { AuthErrors } from '../errors.js';

export interface IssuedAccessToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  jti: string;
  exp: number;
}

export async function issueAccessToken(ctx: Pick<AuthContext, 'config' | 'keys'>, claims: NewAccessToken): Promise<IssuedAccessToken> {
  const key = ctx.keys.signingKey();
  if (!key) throw AuthErrors.noSigningKey();
  const ttl = ctx.config.accessTokenTtl;
  const signed = await signAccessToken(key, claims, { issuer: ctx.config.issuer, audience: ctx.config.audience, ttlSeconds: ttl });
  return { access_token: signed.token, token_type: 'Bearer', expires_in: ttl, jti: signed.jti, exp: signed.exp };
}
