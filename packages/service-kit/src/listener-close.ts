/**
 * Closing a listener without resetting requests a balancer has already sent (issue 20).
 *
 * Closing a listening socket resets the connections in its kernel accept queue (handshake done,
 * not yet accept()ed). A balancer has usually written its request on such a connection already,
 * so it sees `recv() failed (104)` and may not resend it if it is a POST. Measured on the
 * rolling-restart scale test: 1 to 3 of nginx's connections sat in that queue at the instant
 * the listener closed (the event loop accepts only between its other work), while the server's
 * own list of connections held none of them. (Not the cause: Node's closeIdleConnections, which
 * spares a connection whose request has not been parsed yet; test/listener-close.test.ts.)
 *
 * So the listener is closed in the same synchronous step as a check that its accept queue is
 * empty (Linux: /proc/net/tcp's rx_queue of a listening socket is that queue's length); while
 * it is not, the event loop accepts what waits there first. What remains is the microseconds
 * between the check and close(2): a balancer must still stop routing to an instance before it
 * stops where it can (docs/operations.md); this keeps the last instant from costing a request.
 */
import { closeSync, openSync, readSync, readlinkSync } from 'node:fs';
import type { Server } from 'node:http';

/** The socket tables a listener can be in (IPv4, IPv6); both list listening sockets first. */
const SOCKET_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
const CHUNK = 16 * 1024;
/** A check of the queue that took longer than this (descheduled under load) is not trusted. */
const FRESH_CHECK_MS = 1;

/** The inode of the listening socket, from /proc/self/fd; undefined where there is no /proc. */
function listenerInode(server: Server): string | undefined {
  // The listening handle's descriptor (-1 where libuv has none, e.g. on Windows).
  const fd = (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The rx_queue of the socket with `inode` in one table, read a chunk at a time and stopping at
 * its line (listening sockets come first), so the kernel's figure is as fresh as possible.
 */
function rxQueueIn(table: string, inode: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(table, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(CHUNK);
    let pending = '';
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) return undefined;
      const lines = (pending + buffer.toString('latin1', 0, read)).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode …
        const fields = line.trim().split(/\s+/);
        if (fields[9] !== inode) continue;
        const rxQueue = fields[4]?.split(':')[1];
        return rxQueue === undefined ? undefined : Number.parseInt(rxQueue, 16);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * How many connections wait in `server`'s kernel accept queue, or undefined where that cannot
 * be read (not Linux, not listening).
 */
export function acceptQueueLength(server: Server): number | undefined {
  const inode = listenerInode(server);
  if (inode === undefined) return undefined;
  for (const table of SOCKET_TABLES) {
    const length = rxQueueIn(table, inode);
    if (length !== undefined) return length;
  }
  return undefined;
}

export interface ListenerClosed {
  /** Checks of the accept queue (1 when it was empty at once). */
  checks: number;
  /** The most connections seen waiting in it. */
  mostQueued: number;
  /** False where the queue cannot be read, or no quick check found it empty within the bound. */
  queueEmpty: boolean;
  ms: number;
}

/**
 * Closes `server`'s listening socket at an instant its accept queue is empty: checks, and closes
 * in the same synchronous step if it is and the check itself was quick; otherwise lets the event
 * loop accept what is waiting (setImmediate runs right after the loop's poll phase) and checks
 * again. Gives up waiting after `maxWaitMs` (a queue that never empties: close anyway).
 */
export async function closeListenerWhenQueueEmpty(server: Server, maxWaitMs: number): Promise<ListenerClosed> {
  const startedAt = Date.now();
  let checks = 0;
  let mostQueued = 0;
  for (;;) {
    if (!server.listening) return { checks, mostQueued, queueEmpty: true, ms: Date.now() - startedAt };
    const checkedAt = performance.now();
    const queued = acceptQueueLength(server);
    // A check the process was descheduled in (it normally takes ~0.1 ms) is stale: connections
    // may have arrived since the kernel counted them.
    const fresh = performance.now() - checkedAt <= FRESH_CHECK_MS;
    checks += 1;
    mostQueued = Math.max(mostQueued, queued ?? 0);
    if ((queued === 0 && fresh) || queued === undefined || Date.now() - startedAt >= maxWaitMs) {
      // Nothing between the check and close(2): net.Server#close closes the handle synchronously.
      server.close();
      return { checks, mostQueued, queueEmpty: queued === 0 && fresh, ms: Date.now() - startedAt };
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
