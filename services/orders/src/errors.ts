/** The orders service's coded errors; everything else comes from @keygate/errors' CommonErrors. */
import { createError } from '@keygate/errors';

/** Unknown id, or an order of another user: the two are indistinguishable on purpose. */
export const orderNotFound = createError('not_found', 404, 'No such order.');

/** An Idempotency-Key already used for another request (the IETF draft's 422): nothing was done. */
export const idempotencyKeyReused = createError(
  'idempotency_key_reused',
  422,
  'This Idempotency-Key was already used for a different request; send a new key for a new order.',
);
