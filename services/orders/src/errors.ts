/** The orders service's coded errors; everything else comes from @keygate/errors' CommonErrors. */
import { createError } from '@keygate/errors';

/** Unknown id, or an order of another user: the two are indistinguishable on purpose. */
export const orderNotFound = createError('not_found', 404, 'No such order.');
