/**
 * loggerOptions as fastify uses them: the root logger and each request's pino child (fastify's
 * default childLoggerFactory, `logger.child({ reqId })`) write JSON lines with the service name,
 * redact credentials, and log a request's path without its query string.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { loggerOptions } from '../src/index.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(loggerOptions('test', level), stream), lines };
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

t.test("a request's child logs with its bindings and the service name, credentials redacted", async (t) => {
  const { logger, lines } = capture('info');
  const request = logger.child({ reqId: 'r-1' });
  request.warn({ token: 'secret-token', upstream: 'orders', body: { password: 'hunter2', refresh_token: 'rt' } }, 'upstream request failed');
  request.info({ req: { method: 'GET', url: '/orders?access_token=leak', id: 'r-1', headers: { authorization: 'Bearer x' } } }, 'incoming request');
  await flushed();
  t.equal(lines.length, 2);
  t.match(lines[0], { reqId: 'r-1', service: 'test', upstream: 'orders', token: '[redacted]', body: { password: '[redacted]', refresh_token: '[redacted]' }, msg: 'upstream request failed' });
  t.notMatch(JSON.stringify(lines), /secret-token|hunter2|leak|Bearer x/, 'no credential reaches the output');
  t.same(lines[1]?.req, { method: 'GET', url: '/orders', id: 'r-1' }, 'the path without its query string, no headers');
});

t.test("the level holds for children, and a route's own level (fastify's logLevel) overrides it both ways", async (t) => {
  const { logger, lines } = capture('warn');
  logger.child({ reqId: 'r-2' }).info('below the level');
  logger.child({ reqId: 'r-3' }, { level: 'debug' }).debug('a debug route');
  const { logger: chatty, lines: chattyLines } = capture('info');
  chatty.child({ reqId: 'r-4' }, { level: 'warn' }).info('a quiet route');
  await flushed();
  t.equal(lines.length, 1);
  t.match(lines[0], { reqId: 'r-3', msg: 'a debug route' });
  t.equal(chattyLines.length, 0);
});
