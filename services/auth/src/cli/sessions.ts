/**
 * authctl sessions list|revoke|revoke-all: a user's sessions (logins) from the command line.
 * Revoking goes through the domain functions the routes use, so the gateways are told on the bus
 * and refuse the session's access tokens within a second.
 */
import { parseArgs } from 'node:util';
import type { AuthConfig } from '../config.js';
import { revokeSession, revokeUserSessions, sessionById } from '../sessions/service.js';
import { sessionsOfUser } from '../admin/service.js';
import type { SessionRow } from '../db/schema.js';
import { findUser } from '../accounts/service.js';
import { assertUuid, parseUserRef, resolveUser, withAuthContext } from './context.js';
import { CliFailure, UsageError, withDatabase } from './support.js';

/** live, or why not: revoked (with the reason) or expired (idle or absolute lifetime passed). */
function stateOf(session: SessionRow, now: number): string {
  if (session.revoked_at !== null) return `revoked (${session.revoked_reason ?? 'unknown'})`;
  if (session.idle_expires_at.getTime() <= now || session.absolute_expires_at.getTime() <= now) return 'expired';
  return 'live';
}

function onePositional(args: string[], options: { json?: boolean }, what: string): { value: string; json: boolean } {
  const { values, positionals } = parseArgs({ args, options: options.json ? { json: { type: 'boolean', default: false } } : {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return { value: positionals[0]!, json: (values as { json?: boolean }).json ?? false };
}

async function list(config: AuthConfig, args: string[]): Promise<void> {
  const { value, json } = onePositional(args, { json: true }, 'user (email or id)');
  const ref = parseUserRef(value);
  const { sessions, now } = await withDatabase(config, async (db) => {
    const user = await resolveUser(db, ref);
    return { sessions: await sessionsOfUser(db, user.id), now: Date.now() };
  });
  const rows = sessions.map((s) => ({
    id: s.id,
    client_id: s.client_id,
    created_at: s.created_at.toISOString(),
    last_used_at: s.last_used_at.toISOString(),
    ip: s.ip,
    user_agent: s.user_agent,
    state: stateOf(s, now),
  }));
  if (json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log(['id', 'created_at', 'last_used_at', 'ip', 'user_agent', 'state'].join('\t'));
  for (const r of rows) console.log([r.id, r.created_at, r.last_used_at, r.ip ?? '-', r.user_agent ?? '-', r.state].join('\t'));
}

async function revoke(config: AuthConfig, args: string[]): Promise<void> {
  const id = assertUuid(onePositional(args, {}, 'session_id').value, 'session_id');
  const message = await withAuthContext(config, { revokes: true }, async (ctx) => {
    const session = await sessionById(ctx.db, id);
    if (!session) throw new CliFailure(`no session ${id}`);
    if (await revokeSession(ctx, id, 'session_delete')) {
      const user = await findUser(ctx.db, session.user_id);
      return `session ${id} of ${user?.email ?? session.user_id} is revoked`;
    }
    return `session ${id} was already revoked: nothing changed`;
  });
  console.log(message);
}

async function revokeAll(config: AuthConfig, args: string[]): Promise<void> {
  const ref = parseUserRef(onePositional(args, {}, 'user (email or id)').value);
  const { email, ids } = await withAuthContext(config, { revokes: true }, async (ctx) => {
    const user = await resolveUser(ctx.db, ref);
    return { email: user.email, ids: await revokeUserSessions(ctx, user.id, 'logout_all') };
  });
  console.log(`revoked ${ids.length} session${ids.length === 1 ? '' : 's'} of ${email}`);
}

export async function sessionsCommand(config: AuthConfig, command: string, args: string[]): Promise<void> {
  if (command === 'sessions list') return list(config, args);
  if (command === 'sessions revoke') return revoke(config, args);
  if (command === 'sessions revoke-all') return revokeAll(config, args);
  throw new UsageError(`unknown command: ${command}`);
}
