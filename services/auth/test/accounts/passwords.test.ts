import { test } from 'tap';
import { hash, verify } from '@node-rs/argon2';
import { ARGON2_OPTIONS, createPasswordHasher, type Argon2Primitives } from '../../src/accounts/passwords.js';
import { PASSWORD, bearer, http, registerAndLogin, startAuth, uniqueEmail } from '../helpers.js';

/** The real argon2 primitives, counting how many run at once. */
function countingPrimitives(): Argon2Primitives & { peak: number } {
  let running = 0;
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    running++;
    primitives.peak = Math.max(primitives.peak, running);
    try {
      return await work();
    } finally {
      running--;
    }
  };
  const primitives = {
    peak: 0,
    hash: (password: string, options: Parameters<typeof hash>[1]) => counted(() => hash(password, options)),
    verify: (passwordHash: string, password: string) => counted(() => verify(passwordHash, password)),
  };
  return primitives;
}

test('never runs more than `concurrency` hashes at once; the rest wait and all complete', async (t) => {
  const primitives = countingPrimitives();
  const hasher = createPasswordHasher({ concurrency: 2, primitives });
  const stored = await hasher.hash('the right password');
  primitives.peak = 0;
  const attempts = Array.from({ length: 6 }, (_, i) => hasher.verify(stored, i % 2 === 0 ? 'the right password' : 'a wrong one'));
  t.same(hasher.load, { active: 2, queued: 4 }, 'two run, four wait');
  t.same(await Promise.all(attempts), [true, false, true, false, true, false], 'every queued verification gets its own answer');
  t.equal(primitives.peak, 2);
  t.same(hasher.load, { active: 0, queued: 0 });
});

test('verify answers false, never throws, for a malformed stored hash, and frees its slot', async (t) => {
  const hasher = createPasswordHasher({ concurrency: 1 });
  t.equal(await hasher.verify('not an argon2 hash', 'anything'), false);
  t.equal(await hasher.verify('$argon2id$v=19$m=19456,t=2,p=1$broken', 'anything'), false);
  t.same(hasher.load, { active: 0, queued: 0 });
  t.ok(await hasher.verify(await hasher.hash('after the failures'), 'after the failures'), 'the slot was released');
});

test('the dummy hash is a real argon2id hash with the service parameters, made once', async (t) => {
  const hasher = createPasswordHasher({ concurrency: 1 });
  const first = await hasher.dummyHash();
  t.match(first, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  t.equal(await hasher.dummyHash(), first);
  t.equal(await hasher.verify(first, ''), false, 'no guessable password behind it');
});

/** What `promise` rejected with (undefined if it resolved). */
function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Primitives whose every call waits until the test releases it (after letting the slots start what they scheduled). */
function gatedPrimitives(): Argon2Primitives & { started: number; release(): Promise<void> } {
  const gates: (() => void)[] = [];
  const gated = <T>(value: T): Promise<T> =>
    new Promise((resolve) => {
      primitives.started++;
      gates.push(() => resolve(value));
    });
  const primitives = {
    started: 0,
    hash: (password: string) => gated(`hash-of-${password}`),
    verify: (passwordHash: string, password: string) => gated(passwordHash === `hash-of-${password}`),
    release: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      for (const open of gates.splice(0)) open();
    },
  };
  return primitives;
}

test('at most `queueMax` hashes wait: one more is refused at once with 503 and Retry-After, never queued', async (t) => {
  let rejected = 0;
  const primitives = gatedPrimitives();
  const hasher = createPasswordHasher({ concurrency: 1, queueMax: 1, primitives, onRejected: () => rejected++ });
  const running = hasher.hash('first');
  const waiting = hasher.verify('hash-of-second', 'second');
  t.same(hasher.load, { active: 1, queued: 1 });
  for (const refused of [hasher.hash('third'), hasher.verify('hash-of-x', 'x'), hasher.dummyHash()]) {
    t.match(await rejection(refused), { code: 'service_unavailable', statusCode: 503, headers: { 'retry-after': '1' } });
  }
  t.equal(rejected, 3, 'each refusal is reported (the metric)');
  t.equal(primitives.started, 1, 'refused work never reached argon2');
  t.same(hasher.load, { active: 1, queued: 1 }, 'the refusals took no place in the queue');
  await primitives.release();
  t.equal(await running, 'hash-of-first');
  await primitives.release();
  t.equal(await waiting, true, 'the queued verification completes');
  const later = hasher.dummyHash();
  t.equal(hasher.load.active, 1, 'a refused dummy hash is not remembered: it is made on the next call');
  await primitives.release();
  t.match(await later, /^hash-of-dummy-/);
  t.same(hasher.load, { active: 0, queued: 0 });
});

test('queueMax 0: nothing waits; a free slot still runs at once', async (t) => {
  const primitives = gatedPrimitives();
  const hasher = createPasswordHasher({ concurrency: 2, queueMax: 0, primitives });
  const both = [hasher.verify('hash-of-a', 'a'), hasher.verify('hash-of-b', 'b')];
  t.match(await rejection(hasher.verify('hash-of-c', 'c')), { statusCode: 503 });
  await primitives.release();
  t.same(await Promise.all(both), [true, true]);
  const registration = hasher.hash('d');
  t.match(await rejection(hasher.hash('e')), { statusCode: 503 }, 'the slot kept for verifications is not one a second new-password hash may wait for');
  await primitives.release();
  t.equal(await registration, 'hash-of-d');
});

test('over HTTP: a full hash queue answers 503 service_unavailable with Retry-After while it is full, then logins work again', async (t) => {
  const auth = await startAuth(t, { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE_MAX: '1' });
  const { base, ctx } = auth;
  const user = await registerAndLogin(base);
  // Two verifications of a deliberately slow hash (argon2 reads its cost from the stored hash)
  // hold the one slot and the one queue place for a known, long time.
  const slow = await hash('slow', { ...ARGON2_OPTIONS, timeCost: 60 });
  let blockersDone = false;
  const blockers = Promise.all([ctx.passwords.verify(slow, 'slow'), ctx.passwords.verify(slow, 'slow')]).then(() => (blockersDone = true));
  t.same(ctx.passwords.load, { active: 1, queued: 1 });

  const started = performance.now();
  const responses = await Promise.all([
    http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } }),
    http(base, 'POST', '/auth/register', { json: { email: uniqueEmail('busy'), password: PASSWORD } }),
    http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'another password' }, headers: bearer(user.accessToken) }),
  ]);
  const elapsed = performance.now() - started;
  t.notOk(blockersDone, `answered while the queue was still full (${elapsed.toFixed(0)} ms), not after waiting`);
  for (const res of responses) {
    t.equal(res.status, 503);
    t.same(res.body, { error: 'service_unavailable', error_description: 'The service is busy; retry shortly.' });
    t.equal(res.headers.get('retry-after'), '1');
  }
  t.match(await auth.app.metrics.registry.metrics(), /auth_password_hashes_rejected_total\{service="auth"\} 3\n/);
  await blockers;
  t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 200, 'once the queue drains, logins work');
});
