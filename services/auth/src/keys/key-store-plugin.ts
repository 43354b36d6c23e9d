/**
 * The key store's lifetime as a plugin: loads (or creates) the signing keys at registration and
 * stops its refresh timer and subscription with the app. The store itself is keys/key-store.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { KeyStore } from './key-store.js';

const keyStorePlugin: FastifyPluginAsync<{ keys: KeyStore }> = async (app, { keys }) => {
  app.addHook('onClose', async () => keys.stop());
  await keys.start();
};

export const keyStore = fp(keyStorePlugin, { name: 'key-store' });
