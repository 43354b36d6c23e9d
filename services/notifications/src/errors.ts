/** The notifications service's coded errors; everything else comes from @keygate/errors' CommonErrors. */
import { createError } from '@keygate/errors';

/** Unknown id, or a notification of another user: the two are indistinguishable on purpose. */
export const notificationNotFound = createError('not_found', 404, 'No such notification.');
