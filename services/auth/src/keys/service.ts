/**
 * What the rest of the service (authctl) reads about signing keys. The store that serves the JWKS
 * and signs is key-store.ts; rotation and revocation are rotation.ts.
 */
export { findKeyInState, listAllKeys } from './repository.js';
