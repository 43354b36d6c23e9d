/** Invalid order bodies are refused (400, or 415 for a non-JSON body) and store nothing, not even an event. */
import { test } from 'tap';
import { admin, alice, asUser, metric, buildTestApp } from './helpers.js';

test('invalid bodies are refused and nothing is stored', async (t) => {
  const { app, config } = await buildTestApp(t);
  const asAlice = asUser(app, config.gatewaySecret, alice);

  const json = (body: unknown) => ({ payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const cases: Array<[string, { payload?: string; headers?: Record<string, string> }, number, string]> = [
    ['quantity 0', json({ item: 'pen', quantity: 0 }), 400, 'invalid_request'],
    ['quantity 1001', json({ item: 'pen', quantity: 1001 }), 400, 'invalid_request'],
    ['quantity -1', json({ item: 'pen', quantity: -1 }), 400, 'invalid_request'],
    ['quantity 1.5', json({ item: 'pen', quantity: 1.5 }), 400, 'invalid_request'],
    ['quantity "5" (a string)', json({ item: 'pen', quantity: '5' }), 400, 'invalid_request'],
    ['quantity null', json({ item: 'pen', quantity: null }), 400, 'invalid_request'],
    ['item a number', json({ item: 5, quantity: 1 }), 400, 'invalid_request'],
    ['missing item', json({ quantity: 1 }), 400, 'invalid_request'],
    ['missing quantity', json({ item: 'pen' }), 400, 'invalid_request'],
    ['empty item', json({ item: '', quantity: 1 }), 400, 'invalid_request'],
    ['201-char item', json({ item: 'x'.repeat(201), quantity: 1 }), 400, 'invalid_request'],
    ['an extra property', json({ item: 'pen', quantity: 1, status: 'shipped' }), 400, 'invalid_request'],
    ['an array', json([{ item: 'pen', quantity: 1 }]), 400, 'invalid_request'],
    ['not JSON', { payload: '{"item": "pen",', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request'],
    ['no body', {}, 400, 'invalid_request'],
    ['text/plain', { payload: '{"item":"pen","quantity":1}', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['form-encoded', { payload: 'item=pen&quantity=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
    ['too large', json({ item: 'pen', quantity: 1, pad: 'x'.repeat(20_000) }), 413, 'payload_too_large'],
  ];
  for (const [name, options, status, code] of cases) {
    const res = await asAlice('POST', '/orders', options);
    t.equal(res.statusCode, status, `${name}: status`);
    t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], `${name}: contract error body`);
    t.equal(res.json().error, code, `${name}: error code`);
  }

  t.same((await asUser(app, config.gatewaySecret, admin)('GET', '/orders')).json(), [], 'no order stored');
  t.equal(await metric(app, 'orders_placed_total'), 0);
  t.equal(await metric(app, 'orders_outbox_backlog'), 0, 'no outbox event either');
  t.equal(await metric(app, 'orders_outbox_relayed_total'), 0, 'and nothing ever relayed');

  // The boundaries themselves are fine.
  for (const body of [{ item: 'x', quantity: 1 }, { item: 'x'.repeat(200), quantity: 1000 }]) {
    const res = await asAlice('POST', '/orders', json(body));
    t.equal(res.statusCode, 201, `accepts ${body.item.length}-char item, quantity ${body.quantity}`);
  }
  t.equal(await metric(app, 'orders_placed_total'), 2);
});
