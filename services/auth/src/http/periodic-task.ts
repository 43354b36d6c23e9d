/**
 * A timer as a fastify plugin: runs `task` every `everyMs` (unref'd, so it never keeps the process
 * alive) and stops with the app. A failure is logged and the next tick tries again.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export interface PeriodicTaskOptions {
  /** What the log says failed. */
  name: string;
  everyMs: number;
  task: () => Promise<unknown>;
}

const periodicTaskPlugin: FastifyPluginAsync<PeriodicTaskOptions> = async (app, { name, everyMs, task }) => {
  const timer = setInterval(() => {
    task().catch((err: unknown) => app.log.error({ err }, `${name} failed`));
  }, everyMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
};

// fastify-plugin: the onClose hook belongs to the app, not to an encapsulated child.
export const periodicTask = fp(periodicTaskPlugin, { name: 'periodic-task' });
