// The SPA demo's static server: the page at / and at the redirect path, its one module and
// oauth4webapi's browser build, the issuer and client in /config.json, and a CSP that lets the
// page talk only to itself and the issuer.
import { test } from 'tap';
import { SPA_CLIENT, buildSpaDemo } from '../src/index.js';

test('serves the page, its module, oauth4webapi and its configuration under a strict CSP', async (t) => {
  const app = await buildSpaDemo({ issuer: 'http://localhost:8080' });
  t.teardown(() => app.close());
  for (const path of ['/', SPA_CLIENT.redirectPath]) {
    const page = await app.inject({ url: path });
    t.equal(page.statusCode, 200, path);
    t.match(page.headers['content-type'], /^text\/html/);
    t.match(page.body, /<script type="module" src="\/app.js">/);
    t.equal(page.headers['content-security-policy'], "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' http://localhost:8080; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
    t.equal(page.headers['referrer-policy'], 'no-referrer', 'the code in the callback URL never leaves in a Referer');
  }
  const module = await app.inject({ url: '/app.js' });
  t.match(module.headers['content-type'], /^text\/javascript/);
  t.match(module.body, /from '\/oauth4webapi.js'/);
  const library = await app.inject({ url: '/oauth4webapi.js' });
  t.equal(library.statusCode, 200);
  t.match(library.body, /export async function authorizationCodeGrantRequest/, 'the library’s browser build, as published');
  const config = await app.inject({ url: '/config.json' });
  t.same(config.json(), { issuer: 'http://localhost:8080', client_id: 'keygate-spa', scope: 'orders:read orders:write' });
  t.equal((await app.inject({ url: '/../package.json' })).statusCode, 404, 'nothing else is served');
  t.equal((await app.inject({ url: '/assets/index.html' })).statusCode, 404);
});
