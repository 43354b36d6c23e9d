/**
 * What administrators read: pages of users for GET /admin/users, and the operator views of authctl.
 * Admin changes to a user (role, disabled) are the accounts feature's adminUpdateUser: they lock
 * and change the users row as a password change does.
 */
import type { Db, SessionRow, UserRow } from '../db/schema.js';
import { listSessionsOfUser, listUsers, listUsersMatching } from './repository.js';

export function usersPage(db: Db, page: { limit: number; offset: number }): Promise<UserRow[]> {
  return listUsers(db, page);
}

export function usersMatching(db: Db, filter: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<UserRow[]> {
  return listUsersMatching(db, filter);
}

export function sessionsOfUser(db: Db, userId: string): Promise<SessionRow[]> {
  return listSessionsOfUser(db, userId);
}
