/**
 * Signs an access token as RFC 9068 and the contract describe it: header {alg, typ:"at+jwt", kid},
 * claims iss, sub, aud, exp, iat, jti, client_id, sid?, role, scope?, amr?. Nothing personal beyond sub.
 *
 * Every refresh and every login signs one, so this is the product's hottest signing path and is
 * built by hand on node:crypto (docs/decisions-auth.md, "Access tokens: node:crypto on a KeyObject,
 * header encoded once"): the key's KeyObject and the encoded protected header are made once per
 * key, and each token is one JSON.stringify, two base64url encodings and one synchronous `sign`.
 * jose's SignJWT on the WebCrypto key did the same RSA work plus ~0.1 ms of CPU per token around
 * it (claim builders, algorithm normalisation, key checks, a thread-pool hop). Verification and
 * every other JOSE operation stay with jose.
 */
import { constants, KeyObject, randomUUID, sign, type SignKeyObjectInput } from 'node:crypto';
import type { CryptoKey } from 'jose';
import { MIN_RSA_MODULUS_BITS, type SigningAlg } from './algorithms.js';
import type { SigningKey } from './decrypt-private-key.js';
import { TokensError } from './errors.js';

/** What a new token says about its subject; signAccessToken adds iss, aud, exp, iat and jti. */
export interface NewAccessToken {
  sub: string;
  clientId: string;
  role: string;
  /** The session; absent for client_credentials tokens. */
  sid?: string | undefined;
  scope?: string | undefined;
  /** How the user authenticated (RFC 8176 values: `pwd`, `otp`); absent for client_credentials. */
  amr?: readonly string[] | undefined;
}

export interface SignOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  iat: number;
  exp: number;
}

/** A signing key made ready once: its node:crypto key (with the algorithm's options) and `base64url(header) + "."`. */
interface PreparedKey {
  privateKey: CryptoKey;
  kid: string;
  alg: SigningAlg;
  digest: string | null;
  key: KeyObject | SignKeyObjectInput;
  headerDot: string;
}

const prepared = new WeakMap<SigningKey, PreparedKey>();

/** The WebCrypto algorithm each JWS alg must have been imported for (what jose checked on every signature). */
function assertKeyFits(alg: SigningAlg, privateKey: CryptoKey): void {
  const algorithm = privateKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  const expected = { RS256: 'RSASSA-PKCS1-v1_5', PS256: 'RSA-PSS', ES256: 'ECDSA', EdDSA: 'Ed25519' }[alg];
  const fits =
    privateKey.type === 'private' &&
    privateKey.usages.includes('sign') &&
    algorithm.name === expected &&
    (alg !== 'ES256' || algorithm.namedCurve === 'P-256') &&
    ((alg !== 'RS256' && alg !== 'PS256') || (algorithm.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS);
  if (!fits) throw new TokensError('ERR_TOKENS_INVALID_KEY', `The signing key does not fit ${alg}.`);
}

function prepare(signingKey: SigningKey): PreparedKey {
  const known = prepared.get(signingKey);
  if (known && known.privateKey === signingKey.privateKey && known.kid === signingKey.kid && known.alg === signingKey.alg) return known;
  const { alg, kid, privateKey } = signingKey;
  assertKeyFits(alg, privateKey);
  const keyObject = KeyObject.from(privateKey);
  const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid }), 'utf8').toString('base64url');
  const ready: PreparedKey = {
    privateKey,
    kid,
    alg,
    // RFC 7518 §3.3-3.5, RFC 8037 §3.1: PSS salt as long as the hash; ECDSA as R || S; Ed25519 hashes itself.
    digest: alg === 'EdDSA' ? null : 'sha256',
    key:
      alg === 'PS256'
        ? { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : alg === 'ES256'
          ? { key: keyObject, dsaEncoding: 'ieee-p1363' }
          : keyObject,
    headerDot: `${header}.`,
  };
  prepared.set(signingKey, ready);
  return ready;
}

export async function signAccessToken(key: SigningKey, claims: NewAccessToken, options: SignOptions): Promise<SignedAccessToken> {
  const ready = prepare(key);
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const exp = iat + options.ttlSeconds;
  const jti = randomUUID();
  const payload: Record<string, string | number | string[]> = { client_id: claims.clientId, role: claims.role };
  if (claims.sid !== undefined) payload.sid = claims.sid;
  if (claims.scope !== undefined && claims.scope !== '') payload.scope = claims.scope;
  if (claims.amr !== undefined && claims.amr.length > 0) payload.amr = [...claims.amr];
  payload.iss = options.issuer;
  payload.sub = claims.sub;
  payload.aud = options.audience;
  payload.iat = iat;
  payload.exp = exp;
  payload.jti = jti;
  const signingInput = ready.headerDot + Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = sign(ready.digest, Buffer.from(signingInput, 'ascii'), ready.key);
  return { token: `${signingInput}.${signature.toString('base64url')}`, jti, iat, exp };
}
