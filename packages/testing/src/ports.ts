/**
 * Free TCP ports on 127.0.0.1 for servers a test starts itself. A port is free when the kernel
 * hands it out for port 0; several are chosen with every listener still open, so none repeats
 * (choosing them one by one, or in parallel, can return one port twice: a stack then fails with
 * EADDRINUSE between its own services). Another process may still take one before it is bound.
 */
import { createServer, type Server } from 'node:net';

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** One free port. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
