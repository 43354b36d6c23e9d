/**
 * GET /notifications and POST /notifications/{id}/read, always for `request.user` alone (admins
 * included: a notification is its recipient's). Another user's notification is a 404 exactly like
 * an unknown one; marking read twice is fine.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { errorSchema } from '@keygate/service-kit';
import { notificationNotFound } from '../errors.js';
import { listNotifications, markRead } from '../repositories/notifications.js';
import type { NotificationRow, NotificationsDatabase } from '../repositories/tables.js';
import { IdParams, PageQuery } from '@keygate/sample-service';
import { Notification, NotificationList } from '../schemas/notifications.js';

export interface NotificationRoutesOptions {
  db: Kysely<NotificationsDatabase>;
}

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    user_id: row.user_id,
    type: row.type,
    data: row.data as Notification['data'],
    read: row.read_at !== null,
    created_at: new Date(row.created_at).toISOString(),
  };
}

export const notificationRoutes: FastifyPluginAsyncTypebox<NotificationRoutesOptions> = async (app, { db }) => {
  app.get(
    '/notifications',
    { schema: { querystring: PageQuery, response: { 200: NotificationList, 400: errorSchema, 401: errorSchema, 503: errorSchema } } },
    async (request) => {
      const rows = await listNotifications(db, { userId: request.user.id, limit: Number(request.query.limit), before: request.query.before });
      return rows.map(toNotification);
    },
  );

  app.post(
    '/notifications/:id/read',
    { schema: { params: IdParams, response: { 204: { type: 'null' }, 400: errorSchema, 401: errorSchema, 404: errorSchema, 503: errorSchema } } },
    async (request, reply) => {
      if (!(await markRead(db, request.params.id, request.user.id))) throw notificationNotFound();
      return reply.code(204).send();
    },
  );
};
