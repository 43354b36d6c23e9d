// buildSampleApp: the wiring every sample service shares. Its routes and workers are tested in
// services/orders and services/notifications; here, the order things close in and a failed build.
import { test } from 'tap';
import { sampleServiceSettings } from '@keygate/config';
import { createTestEnvironment } from '@keygate/testing';
import { buildSampleApp } from '../src/index.js';

async function testConfig(t: { teardown(fn: () => unknown): void }) {
  const { env, cleanup } = await createTestEnvironment();
  t.teardown(cleanup);
  return sampleServiceSettings('orders').loadConfig(env);
}

test('ready on its database and bus; gateway trust guards every route; workers stop before the stores close', async (t) => {
  const config = await testConfig(t);
  const events: string[] = [];
  const app = await buildSampleApp<unknown>('orders', config, {}, async ({ app, db, bus, stopBeforeClose }) => {
    app.get('/probe', async () => ({ ok: true }));
    stopBeforeClose(async () => {
      // Still open while the worker stops: it may finish what it was doing.
      await bus.ping();
      await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
      events.push('worker stopped');
    });
  });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200, 'ready: database and bus answer');
  const unsigned = await app.inject({ method: 'GET', url: '/probe' });
  t.equal(unsigned.statusCode, 401, 'a request without the gateway\'s proof is refused');
  t.equal(unsigned.json().error, 'unauthorized');
  await app.close();
  t.same(events, ['worker stopped']);
});

test('a failing setup closes what was opened and rethrows', async (t) => {
  const config = await testConfig(t);
  const events: string[] = [];
  const failure = new Error('setup failed');
  await t.rejects(
    buildSampleApp<unknown>('orders', config, {}, async ({ stopBeforeClose }) => {
      stopBeforeClose(async () => {
        events.push('worker stopped');
      });
      throw failure;
    }),
    failure,
  );
  t.same(events, ['worker stopped'], 'the worker registered before the failure was stopped');
});
