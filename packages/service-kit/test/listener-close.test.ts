import { test } from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { acceptQueueLength, closeListenerWhenQueueEmpty } from '../src/listener-close.js';

const linux = process.platform === 'linux';

/**
 * A client in its own process (so it runs while this one's event loop is blocked): opens `count`
 * connections, sends a GET on each after `delayMs`, and prints one line per connection: the
 * response status, or the error code.
 */
function client(port: number, count: number, delayMs: number): { output: Promise<string[]> } {
  const script = `
    const net = require('node:net');
    const results = [];
    for (let i = 0; i < ${count}; i += 1) {
      const socket = net.connect(${port}, '127.0.0.1');
      let data = '';
      socket.on('connect', () => setTimeout(() => socket.write('GET /x HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'), ${delayMs}));
      socket.on('data', (chunk) => { data += chunk; });
      const done = (what) => { if (socket.reported) return; socket.reported = true; results.push(what); if (results.length === ${count}) { console.log(results.join('\\n')); process.exit(0); } };
      socket.on('error', (error) => done(error.code));
      socket.on('close', () => done(/^HTTP\\/1.1 (\\d+)/.exec(data)?.[1] ?? 'closed without a response'));
    }
    setTimeout(() => { console.log('timeout'); process.exit(1); }, 20000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { output: new Promise((resolve) => child.on('exit', () => resolve(out.trim().split('\n').sort()))) };
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => {
    response.setHeader('connection', 'close');
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Blocks the event loop (nothing is accepted meanwhile) until `count` connections wait in the accept queue. */
function blockUntilQueued(server: Server, count: number): number {
  const deadline = Date.now() + 20_000;
  let queued = acceptQueueLength(server) ?? 0;
  while (queued < count && Date.now() < deadline) queued = acceptQueueLength(server) ?? 0;
  return queued;
}

test('the cause: a plain close resets the requests waiting in the accept queue', { skip: !linux && 'reads /proc/net/tcp' }, async (t) => {
  const { server, port } = await listen();
  t.equal(acceptQueueLength(server), 0, 'the queue is empty while nobody connects');
  const { output } = client(port, 2, 0);
  t.equal(blockUntilQueued(server, 2), 2, 'two connections wait while the event loop is blocked');
  server.close();
  t.same(await output, ['ECONNRESET', 'ECONNRESET'], 'both requests were reset, though sent');
});

test('closing when the accept queue is empty: connections waiting in it are served, not reset', { skip: !linux && 'reads /proc/net/tcp' }, async (t) => {
  const { server, port } = await listen();
  const { output } = client(port, 3, 0);
  t.equal(blockUntilQueued(server, 3), 3, 'three requests sent to connections the server has not accepted');
  const closed = await closeListenerWhenQueueEmpty(server, 2_000);
  t.ok(closed.queueEmpty && closed.checks > 1 && closed.mostQueued === 3, `waited for the queue to empty (${JSON.stringify(closed)})`);
  t.notOk(server.listening, 'the listener is closed');
  t.same(await output, ['200', '200', '200'], 'every queued request was answered');
});

// A candidate ruled out: Node's close (closeIdleConnections) does not count a connection whose
// request has not been parsed yet as idle, so it is not destroyed under a request in flight.
test('server.close() spares a connection accepted before its request arrived', async (t) => {
  const { server, port } = await listen();
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  // The request comes 300 ms after the connection: Node counts the connection as idle meanwhile.
  const { output } = client(port, 1, 300);
  await accepted;
  const closedAt = Date.now();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.same(await output, ['200'], 'the request sent after close() was answered, not reset');
  t.ok(Date.now() - closedAt >= 250, 'close waited for it');
});
