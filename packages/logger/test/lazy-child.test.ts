import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { lazyChildLoggerFactory, loggerOptions } from '../src/index.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino(loggerOptions('test', level), stream);
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((bindings, options) => {
    children += 1;
    return child(bindings, options);
  }) as typeof logger.child;
  return { logger, lines, children: () => children };
}

t.test('the child is built only when a line is written at an enabled level, with the bindings and redaction of a real child', async (t) => {
  const { logger, lines, children } = capture('warn');
  const request = lazyChildLoggerFactory(logger, { reqId: 'r-1' }, {});
  request.info({ req: { method: 'GET' } }, 'incoming request');
  request.debug('nothing');
  t.equal(children(), 0, 'no child for lines below the level');
  t.equal(request.level, 'warn');
  request.warn({ token: 'secret-token', upstream: 'orders' }, 'upstream request failed');
  request.error('second line');
  t.equal(children(), 1, 'one child, built on the first enabled line and kept');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  t.match(lines[0], { reqId: 'r-1', service: 'test', upstream: 'orders', token: '[redacted]', msg: 'upstream request failed' });
  t.match(lines[1], { reqId: 'r-1', msg: 'second line' });
});

t.test("a route's own level (fastify's logLevel) decides, both ways", async (t) => {
  const quiet = capture('info');
  const health = lazyChildLoggerFactory(quiet.logger, { reqId: 'r-2' }, { level: 'warn' });
  health.info('probe');
  t.equal(quiet.children(), 0, 'a warn route does not log info');
  const loud = capture('warn');
  const debugRoute = lazyChildLoggerFactory(loud.logger, { reqId: 'r-3' }, { level: 'debug' });
  debugRoute.debug('detail');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(loud.lines.length, 1, 'a debug route logs debug under a warn parent');
  t.match(loud.lines[0], { reqId: 'r-3', msg: 'detail' });
});
