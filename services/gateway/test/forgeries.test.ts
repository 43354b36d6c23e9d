import { createHmac, createPublicKey } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import t0 from 'tap';
import { scrapeMetrics } from '@keygate/testing';
import { claimsOf, makeKey, nowSec, send, startRig } from './helpers.js';

const rig = await startRig({ JWKS_REFETCH_COOLDOWN_MS: '60000' });
t0.teardown(() => rig.close());

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Signs any header and payload with the rig's real RS256 key (jose will not write every header member). */
async function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, rig.keys[0]!.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

t0.test('the Bearer scheme name is read in any case (RFC 7235)', async (t) => {
  const token = await rig.mint({ sub: 'any-case' });
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const res = await send(rig.url, { path: '/orders', headers: { Authorization: `${scheme} ${token}` } });
    t.equal(res.status, 200, scheme);
  }
});

t0.test('on one keep-alive connection, every forgery after a valid (and now cached) token is still refused', async (t) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const url = new URL(rig.url);
  const get = (token: string) =>
    new Promise<{ status: number; port: number | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/orders', headers: { Authorization: `Bearer ${token}` }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, port: res.socket?.localPort }));
      });
      req.on('error', reject);
      req.end();
    });
  const good = await rig.mint({ sub: 'conn-victim', role: 'user' });
  const [h, , s] = good.split('.') as [string, string, string];
  const attacker = await makeKey('key-1');
  const first = await get(good);
  t.equal(first.status, 200);
  const repeat = await get(good);
  t.equal(repeat.status, 200, 'the same token again');
  const forged: Record<string, string> = {
    'tampered payload': `${h}.${b64({ ...claimsOf(good), role: 'admin' })}.${s}`,
    'signed by another key with the real kid': await rig.mint({ sub: 'conn-victim', role: 'admin' }, {}, attacker),
    'the valid token with padding': `${good}=`,
    expired: await rig.mint({ sub: 'conn-victim', exp: nowSec() - 120, iat: nowSec() - 1000 }),
  };
  for (const [name, token] of Object.entries(forged)) {
    const res = await get(token);
    t.equal(res.status, 401, name);
    t.equal(res.port, first.port, `${name}: sent on the same connection`);
  }
  t.equal((await get(good)).status, 200, 'and the valid token still passes');
});

t0.test('every forgery is refused with 401 invalid_token and a Bearer challenge, and never reaches the upstream', async (t) => {
  const attacker = await makeKey('key-1');
  const good = await rig.mint({ sub: 'victim', role: 'user' });
  const [h, p, s] = good.split('.') as [string, string, string];
  const header = { alg: 'RS256', typ: 'at+jwt', kid: 'key-1' };
  const payload = claimsOf(good);
  const pem = createPublicKey({ key: rig.keys[0]!.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hsInput = `${b64({ ...header, alg: 'HS256' })}.${b64({ ...payload, role: 'admin' })}`;
  const forgeries: Record<string, string> = {
    'alg none': `${b64({ ...header, alg: 'none' })}.${b64({ ...payload, role: 'admin' })}.`,
    'alg none with a signature': `${b64({ ...header, alg: 'none' })}.${p}.${s}`,
    'HS256 signed with the RSA public key': `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`,
    'unknown kid': await rig.mint({}, { kid: 'key-unknown' }, attacker),
    'path-like kid': await rig.mint({}, { kid: '../../../../dev/null' }),
    'embedded jwk': await rig.mint({ role: 'admin' }, { jwk: attacker.jwk }, attacker),
    'jku to another key': await rig.mint({ role: 'admin' }, { jku: 'http://127.0.0.1:1/jwks.json' }, attacker),
    'x5u to another key': await rig.mint({ role: 'admin' }, { x5u: 'http://127.0.0.1:1/cert.pem' }, attacker),
    'signed by another key with the real kid': await rig.mint({ role: 'admin' }, {}, attacker),
    'wrong typ': await rig.mint({}, { typ: 'JWT' }),
    expired: await rig.mint({ exp: nowSec() - 120, iat: nowSec() - 1000 }),
    'nbf in the future': await rig.mint({ nbf: nowSec() + 300 }),
    'wrong iss': await rig.mint({ iss: 'http://evil.test' }),
    'wrong aud': await rig.mint({ aud: 'another-api' }),
    'tampered payload': `${h}.${b64({ ...payload, role: 'admin' })}.${s}`,
    'stripped signature': `${h}.${p}.`,
    'garbage base64': 'e30=.e30=.e30=',
    'not a JWS': 'hello',
    'padded segments': `${h}=.${p}.${s}`,
    // Same signature bytes (the last character's unused bits are ignored by lenient decoders): refused as non-canonical.
    'last signature character with its unused low bit flipped': `${h}.${p}.${s.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(s[s.length - 1]!) ^ 1]!}`,
    'zip header member, signed by the real key': await signRaw({ ...header, zip: 'DEF' }, payload),
    'a 100 KB token': `${h}.${'A'.repeat(100 * 1024)}.${s}`,
  };
  const before = rig.orders.seen.length;
  for (const [name, token] of Object.entries(forgeries)) {
    const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
    t.equal(res.status, 401, name);
    t.match(res.headers['www-authenticate'], /^Bearer realm="keygate", error="invalid_token", error_description="[^"]+"$/, `${name}: challenge`);
    t.equal(res.json().error, 'invalid_token', `${name}: body`);
    t.type(res.json().error_description, 'string');
  }
  t.equal(rig.orders.seen.length, before, 'no forgery reached the upstream');
  // The real token still works, and the forged kids cost at most one JWKS refetch in total.
  const ok = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${good}` } });
  t.equal(ok.status, 200);
  const resigned = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await signRaw(header, payload)}` } });
  t.equal(resigned.status, 200, 'control: re-signed by hand without the zip member, the same claims pass');
  t.ok(rig.jwksRequests <= 2, `JWKS fetched ${rig.jwksRequests} times`);
  const metrics = await scrapeMetrics(rig.gateway);
  t.match(metrics, /gateway_token_rejections_total\{reason="alg_mismatch",service="gateway"\} 2/);
  t.match(metrics, /gateway_token_rejections_total\{reason="header_forbidden",service="gateway"\} 4/);
});
