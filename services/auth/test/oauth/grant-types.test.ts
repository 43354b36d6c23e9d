// grant_type is matched against the grants the service has, never against inherited members of an
// object (oauth/token-routes.ts): prototype names are unknown grants like any other.
import { test } from 'tap';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { http } from '../helpers.js';
import { FORM, basic, form, register, startIssuer } from '../oauth-helpers.js';

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__'];

test('grant_type=constructor, __proto__, toString, … get 400 unsupported_grant_type and no metric label of their own', async (t) => {
  const auth = await startIssuer(t);
  const service = await register(auth, { name: 'billing', grants: ['client_credentials'] });
  const callers: [string, Record<string, string>, Record<string, string>][] = [
    ['a public client', { client_id: FIRST_PARTY_CLIENT_ID }, {}],
    ['a confidential client', {}, basic(service.id, service.secret!)],
  ];
  for (const [who, params, headers] of callers) {
    for (const name of PROTOTYPE_NAMES) {
      const res = await http(auth.base, 'POST', '/oauth/token', { body: form({ grant_type: name, ...params }), headers: { ...FORM, ...headers } });
      t.equal(res.status, 400, `${who}, ${name}: 400`);
      t.same(res.body, { error: 'unsupported_grant_type', error_description: 'This grant type is not supported.' }, `${who}, ${name}`);
      t.equal(res.headers.get('cache-control'), 'no-store');
    }
  }
  const known = await http(auth.base, 'POST', '/oauth/token', { body: form({ grant_type: 'client_credentials' }), headers: { ...FORM, ...basic(service.id, service.secret!) } });
  t.equal(known.status, 200, 'a real grant still works');

  const metrics = await auth.app.metrics.registry.metrics();
  const grantLabels = [...metrics.matchAll(/auth_oauth_token_requests_total\{grant="([^"]*)"/g)].map((m) => m[1]);
  t.same([...new Set(grantLabels)].sort(), ['client_credentials', 'unknown'], 'only real grant names and "unknown" as labels');
  t.match(metrics, new RegExp(`auth_oauth_token_requests_total\\{grant="unknown",outcome="unsupported_grant_type",service="auth"\\} ${PROTOTYPE_NAMES.length * 2}\\n`));
});
