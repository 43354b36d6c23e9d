/** grant_type=authorization_code (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636 §4.5). */
import { requestMeta } from '../../http/authenticate.js';
import { CODE_VERIFIER_PATTERN, exchangeAuthorizationCode } from '../authorization-codes.js';
import { OAuthErrors } from '../errors.js';
import { userTokenResponse } from './issue.js';
import { required, type GrantHandler } from './types.js';

const DESCRIPTIONS = {
  unknown_code: 'The authorization code is invalid.',
  replayed: 'The authorization code was already used; the tokens issued from it are revoked.',
  expired: 'The authorization code has expired.',
  wrong_client: 'The authorization code was issued to another client.',
  redirect_uri_mismatch: 'redirect_uri does not match the one of the authorization request.',
  pkce_mismatch: 'The code_verifier does not match the code_challenge.',
  user_disabled: 'The authorization code is invalid.',
} as const;

export const authorizationCodeGrant: GrantHandler = async ({ ctx, client, params, request }) => {
  const code = required(params, 'code');
  // Omitted (or empty) only when the client has exactly one redirect URI: the exchange checks.
  const redirectUri = params.redirect_uri === undefined || params.redirect_uri === '' ? undefined : params.redirect_uri;
  const codeVerifier = required(params, 'code_verifier');
  if (!CODE_VERIFIER_PATTERN.test(codeVerifier)) throw OAuthErrors.invalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636).');
  const result = await exchangeAuthorizationCode(ctx, { code, clientId: client.id, redirectUri, registeredRedirectUris: client.redirect_uris, codeVerifier }, requestMeta(request));
  if (!result.ok) {
    request.log.info({ reason: result.reason, clientId: client.id }, 'authorization code refused');
    throw OAuthErrors.invalidGrant(DESCRIPTIONS[result.reason]);
  }
  return userTokenResponse(ctx, client, result.user, result.started.session, result.started.refreshToken, result.scope, result.nonce);
};
