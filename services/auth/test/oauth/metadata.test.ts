// The discovery document lists the grants of the grant table (oauth/grants/index.ts), less those
// switched off: adding a grant to the table publishes it, and nothing else lists grants.
import { test } from 'tap';
import { GRANTS } from '../../src/oauth/grants/index.js';
import { OAUTH_ENDPOINTS, oauthMetadata } from '../../src/oauth/metadata.js';

const CONFIG = { issuer: 'https://auth.example/', signingAlg: 'ES256' as const, passwordGrantEnabled: true };

test('grant_types_supported is the grant table', async (t) => {
  t.same(oauthMetadata(CONFIG).grant_types_supported, [...GRANTS.keys()]);
  t.ok(GRANTS.size >= 4, 'the table is not empty');
});

test('a grant switched off, or without its endpoint, is not published', async (t) => {
  t.notOk((oauthMetadata({ ...CONFIG, passwordGrantEnabled: false }).grant_types_supported as string[]).includes('password'));
  const noAuthorize = oauthMetadata(CONFIG, { ...OAUTH_ENDPOINTS, authorization: false });
  t.notOk((noAuthorize.grant_types_supported as string[]).includes('authorization_code'));
  t.same(noAuthorize.response_types_supported, []);
});

test('an inherited member is not a grant', async (t) => {
  t.notOk(GRANTS.has('constructor'));
  t.notOk(GRANTS.has('__proto__'));
});
