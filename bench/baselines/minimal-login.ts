/**
 * Reference only (not one of the issue's scenarios): the least work any POST /auth/login that
 * keeps the contract must do, written directly on fastify with no plugins, hooks, metrics,
 * logging, audit trail or kysely. Per login:
 *   - one Redis round trip counting both login limits (per IP and per account; one pipeline);
 *   - one PostgreSQL query for the user by email;
 *   - one argon2id verify through the service's own PasswordHasher (same parameters, same cap on
 *     hashes at once; a dummy hash for an unknown email);
 *   - one PostgreSQL statement storing the session with its refresh-token hash;
 *   - one RS256 access token (RFC 9068 claims, jose on a WebCrypto key) and the refresh cookie.
 * Its rate against raw argon2id is the ceiling for the login target on this machine: whatever the
 * service does beyond this is its own cost, and what this cannot reach no login can.
 *
 * Its tables live in a schema of their own, dropped and made again at every start.
 * Environment: MINIMAL_LOGIN_PORT, DATABASE_URL, REDIS_URL, MINIMAL_LOGIN_USERS (a JSON file of
 * [{email, password}]), AUTH_DIST (services/auth/dist: its PasswordHasher and default cap).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const port = Number(process.env.MINIMAL_LOGIN_PORT);
const { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, MINIMAL_LOGIN_USERS: usersFile, AUTH_DIST: authDist } = process.env;
if (!port || !databaseUrl || !redisUrl || !usersFile || !authDist) {
  throw new Error('MINIMAL_LOGIN_PORT, DATABASE_URL, REDIS_URL, MINIMAL_LOGIN_USERS and AUTH_DIST are required');
}
interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
}
const serviceModule = <T>(file: string) => import(pathToFileURL(join(authDist, file)).href) as Promise<T>;
const { createPasswordHasher } = await serviceModule<{ createPasswordHasher(options: { concurrency: number }): PasswordHasher }>('accounts/passwords.js');
const { defaultHashConcurrency } = await serviceModule<{ defaultHashConcurrency(): number }>('config.js');
const passwords = createPasswordHasher({ concurrency: defaultHashConcurrency() });
const users = JSON.parse(readFileSync(usersFile, 'utf8')) as { email: string; password: string }[];

const ISSUER = 'http://minimal-login.test';
const AUDIENCE = 'bench';
const ACCESS_TTL_SEC = 900;
const REFRESH_TTL_SEC = 14 * 24 * 3600;
const LIMIT_WINDOW_MS = 60_000;

const db = new pg.Pool({ connectionString: databaseUrl, max: 10 });
await db.query(`
  drop schema if exists bench_minimal_login cascade;
  create schema bench_minimal_login;
  create table bench_minimal_login.users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique,
    role text not null default 'user',
    password_hash text not null
  );
  create table bench_minimal_login.sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references bench_minimal_login.users (id),
    refresh_token_hash bytea not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
  );
`);
for (const user of users) {
  await db.query('insert into bench_minimal_login.users (email, password_hash) values ($1, $2)', [user.email.toLowerCase(), await passwords.hash(user.password)]);
}
const dummyHash = await passwords.hash(randomBytes(16).toString('hex'));
const redis = new Redis(redisUrl, { lazyConnect: false });
const { privateKey } = await generateKeyPair('RS256');
const kid = randomUUID();
const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

const app = Fastify({ logger: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post<{ Body: { email: string; password: string } }>('/auth/login', {
  schema: {
    body: {
      type: 'object',
      required: ['email', 'password'],
      additionalProperties: false,
      properties: { email: { type: 'string', minLength: 3, maxLength: 254 }, password: { type: 'string', minLength: 8, maxLength: 256 } },
    },
  },
}, async (request, reply) => {
  const email = request.body.email.toLowerCase();
  const ipKey = `bench:minimal-login:ip:${request.ip}`;
  const accountKey = `bench:minimal-login:acct:${sha256(email)}`;
  const counts = await redis.pipeline().incr(ipKey).pexpire(ipKey, LIMIT_WINDOW_MS, 'NX').incr(accountKey).pexpire(accountKey, LIMIT_WINDOW_MS, 'NX').exec();
  if (!counts || counts.some(([error]) => error)) throw new Error('rate limit counters failed');
  // The benchmark's loops stay far below these; the check is still made on every login.
  if ((counts[0]![1] as number) > 100_000 || (counts[2]![1] as number) > 100_000) return reply.code(429).send({ error: 'rate_limited' });

  const found = await db.query<{ id: string; role: string; password_hash: string }>('select id, role, password_hash from bench_minimal_login.users where email = $1', [email]);
  const user = found.rows[0];
  const passwordOk = await passwords.verify(user?.password_hash ?? dummyHash, request.body.password);
  if (!user || !passwordOk) return reply.code(401).send({ error: 'invalid_credentials' });

  const refreshToken = randomBytes(32).toString('base64url');
  const session = await db.query<{ id: string }>(
    `insert into bench_minimal_login.sessions (user_id, refresh_token_hash, expires_at) values ($1, $2, now() + make_interval(secs => $3)) returning id`,
    [user.id, createHash('sha256').update(refreshToken).digest(), REFRESH_TTL_SEC],
  );
  const accessToken = await new SignJWT({ role: user.role, client_id: 'first-party', sid: session.rows[0]!.id })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(user.id)
    .setIssuedAt()
    .setExpirationTime(`${ACCESS_TTL_SEC}s`)
    .setJti(randomUUID())
    .sign(privateKey);
  reply.header('set-cookie', `refresh_token=${refreshToken}; Max-Age=${REFRESH_TTL_SEC}; Path=/auth; HttpOnly; Secure; SameSite=Strict`);
  reply.header('cache-control', 'no-store');
  return { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TTL_SEC };
});

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(async () => {
  redis.disconnect();
  await db.end();
  process.exit(0);
}));
