/** GET /admin/users, PATCH /admin/users/{id}: Bearer with the `admin` scope and role admin. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ADMIN_SCOPE } from '@keygate/tokens';
import { adminUpdateUser } from '../accounts/service.js';
import { callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import type { UserRow } from '../db/schema.js';
import { usersPage } from './service.js';
import { AdminUser, AdminUserPatch, AdminUsersQuery, ErrorBody, IdParams, NoQuery } from '../schemas/auth.js';
import type { RouteOptions } from '../http/route-options.js';

function view(user: UserRow) {
  return { id: user.id, email: user.email, role: user.role, disabled: user.disabled, created_at: user.created_at.toISOString(), updated_at: user.updated_at.toISOString() };
}

export const adminRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const admin = requireBearer(ctx, { scope: ADMIN_SCOPE, role: 'admin' });

  app.get('/admin/users', {
    schema: { querystring: AdminUsersQuery, response: { 200: Type.Array(AdminUser), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    preHandler: admin,
  }, async (request) => {
    const limit = Math.min(Math.max(Number(request.query.limit ?? 100), 1), 500);
    const offset = Number(request.query.offset ?? 0);
    return (await usersPage(ctx.db, { limit, offset })).map(view);
  });

  app.patch('/admin/users/:id', {
    schema: { querystring: NoQuery, params: IdParams, body: AdminUserPatch, response: { 200: AdminUser, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 415: ErrorBody } },
    preHandler: admin,
  }, async (request) => {
    const caller = callerOf(request);
    const user = await adminUpdateUser(ctx, caller.user.id, request.params.id, request.body, requestMeta(request));
    request.log.info({ userId: user.id, actor: caller.user.id }, 'admin changed a user');
    return view(user);
  });
};
