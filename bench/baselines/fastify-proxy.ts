/**
 * Reference only (not one of the scenarios): the bare framework the gateway is built on,
 * fastify 5 + @fastify/reply-from with the gateway's undici pool settings, forwarding every
 * request with no verification, no header work, no rate limiting, no metrics and no logging.
 * Its distance to scenario 2 is what the gateway's own per-request work costs.
 *
 * Environment: REFERENCE_PORT, UPSTREAM_URL.
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const port = Number(process.env.REFERENCE_PORT);
const upstream = process.env.UPSTREAM_URL;
if (!port || !upstream) throw new Error('REFERENCE_PORT and UPSTREAM_URL are required');

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: upstream, undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 } });
app.get('/healthz', async () => ({ status: 'ok' }));
app.all('/*', (request, reply) => reply.from(request.url));

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
