import { test } from 'tap';
import { hash, verify } from '@node-rs/argon2';
import { createPasswordHasher, type Argon2Primitives } from '../src/domain/passwords.js';

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
