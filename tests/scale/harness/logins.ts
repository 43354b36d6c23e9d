/**
 * What auth's database holds against the logins the clients were told of: every user's live
 * sessions are exactly the one it started with and those of the logins answered 200. A login nginx
 * resent after a reset must not leave the first try's session live beside the one the client got
 * (auth supersedes it by the Idempotency-Key). Read straight from PostgreSQL.
 */
import type { Test } from 'tap';
import { peek, type Session } from './client.js';
import type { LoadRecorder } from './load.js';
import type { Stack } from './stack.js';

/** The sid and user of each session before the load replaces them (the load mutates `sessions`). */
export function startingSessions(sessions: readonly Session[]): Map<string, string> {
  return new Map(sessions.map((session) => [peek(session.accessToken).sub!, peek(session.accessToken).sid!]));
}

/** Asserts, per user, that the live sessions are exactly the starting one and those `recorder` saw answered 200; returns the logins answered. */
export async function checkSessionsAgainstLogins(t: Test, stack: Stack, starting: ReadonlyMap<string, string>, recorder: LoadRecorder): Promise<number> {
  const users = [...starting.keys()];
  const rows = await stack.query<{ user_id: string; id: string }>('select user_id::text as user_id, id::text as id from auth.sessions where user_id = any($1) and revoked_at is null', [users]);
  const live = new Map<string, string[]>();
  for (const row of rows) live.set(row.user_id, [...(live.get(row.user_id) ?? []), row.id]);
  let answered = 0;
  for (const user of users) {
    const got = recorder.loggedIn.get(user) ?? [];
    answered += got.length;
    t.same([...(live.get(user) ?? [])].sort(), [starting.get(user)!, ...got].sort(), `${user}: the live sessions are exactly the first and the ${got.length} logins answered 200 (no orphan of a resent login)`);
  }
  const superseded = await stack.query<{ n: string }>("select count(*)::text as n from auth.sessions where user_id = any($1) and revoked_reason = 'login_superseded'", [users]);
  t.comment(`${answered} logins answered 200; ${superseded[0]?.n ?? '?'} session(s) superseded by a resent login`);
  return answered;
}
