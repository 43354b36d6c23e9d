/**
 * The revocation resync as a plugin: created with the app, handed to the context (publishers ask
 * it to re-announce after a failed publish), stopped with the app.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthContext } from '../context.js';
import { RevocationResync } from './resync.js';

const revocationResyncPlugin: FastifyPluginAsync<{ ctx: AuthContext }> = async (app, { ctx }) => {
  const resync = new RevocationResync(ctx);
  ctx.revocationResync = resync;
  app.addHook('onClose', async () => resync.stop());
};

export const revocationResync = fp(revocationResyncPlugin, { name: 'revocation-resync' });
