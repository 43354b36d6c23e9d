// HashSlots: a concurrency cap with a bounded queue and an urgent lane (domain/hash-slots.ts).
import { test } from 'tap';
import { HashSlots, QueueFullError } from '../../src/accounts/hash-slots.js';

/** A job that finishes when the test says so, recording when it started. */
function job(order: string[], name: string): { work: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    work: async () => {
      order.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('urgent work takes the next free slot before normal work that waited longer; each lane is FIFO', async (t) => {
  const slots = new HashSlots(1, 10);
  const order: string[] = [];
  const jobs = Object.fromEntries(['running', 'register1', 'register2', 'login1', 'login2'].map((name) => [name, job(order, name)]));
  const results = [
    slots.run('normal', jobs.running!.work),
    slots.run('normal', jobs.register1!.work),
    slots.run('normal', jobs.register2!.work),
    slots.run('urgent', jobs.login1!.work),
    slots.run('urgent', jobs.login2!.work),
  ];
  t.same({ active: slots.active, queued: slots.queued }, { active: 1, queued: 4 });
  for (const name of ['running', 'login1', 'login2', 'register1', 'register2']) {
    await tick();
    jobs[name]!.finish();
  }
  t.same(await Promise.all(results), ['running', 'register1', 'register2', 'login1', 'login2'], 'every caller gets its own result');
  t.same(order, ['running', 'login1', 'login2', 'register1', 'register2'], 'logins first, then registrations in arrival order');
  t.same({ active: slots.active, queued: slots.queued }, { active: 0, queued: 0 });
});

test('a full queue refuses at once with QueueFullError; a failing job frees its slot', async (t) => {
  const slots = new HashSlots(1, 1);
  const order: string[] = [];
  const first = job(order, 'first');
  const running = slots.run('normal', first.work);
  const waiting = slots.run('urgent', async () => {
    throw new Error('argon2 failed');
  });
  await t.rejects(slots.run('urgent', async () => 'never'), QueueFullError);
  await t.rejects(slots.run('normal', async () => 'never'), QueueFullError);
  t.same({ active: slots.active, queued: slots.queued }, { active: 1, queued: 1 }, 'refusals take no place');
  first.finish();
  t.equal(await running, 'first');
  await t.rejects(waiting, { message: 'argon2 failed' });
  t.same({ active: slots.active, queued: slots.queued }, { active: 0, queued: 0 }, 'the failed job released its slot');
  t.equal(await slots.run('normal', async () => 'after'), 'after');
});

test('new-password hashes hold at most concurrency − 1 slots: a verification never waits behind them', async (t) => {
  const slots = new HashSlots(2, 10);
  const order: string[] = [];
  const register1 = job(order, 'register1');
  const register2 = job(order, 'register2');
  const login = job(order, 'login');
  const results = [slots.run('normal', register1.work), slots.run('normal', register2.work)];
  t.same({ active: slots.active, queued: slots.queued }, { active: 1, queued: 1 }, 'the second registration waits although a slot is free');
  results.push(slots.run('urgent', login.work));
  t.same({ active: slots.active, queued: slots.queued }, { active: 2, queued: 1 }, 'the login takes the reserved slot at once');
  await tick();
  t.same(order, ['register1', 'login']);
  login.finish();
  await tick();
  t.same(order, ['register1', 'login'], 'a free slot beside a running registration stays reserved');
  register1.finish();
  await tick();
  t.same(order, ['register1', 'login', 'register2']);
  register2.finish();
  t.same(await Promise.all(results), ['register1', 'register2', 'login']);
  t.same({ active: slots.active, queued: slots.queued }, { active: 0, queued: 0 });
});

test('with one slot, new-password hashes still run (nothing to reserve)', async (t) => {
  const slots = new HashSlots(1, 10);
  t.equal(await slots.run('normal', async () => 'ran'), 'ran');
});
