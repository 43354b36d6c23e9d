/**
 * What orders' database holds against what the clients were told: every order a client got a 201
 * for must be stored exactly once, and no other order of theirs may exist (a resent POST placed
 * twice, or placed without the client hearing of it). Read straight from PostgreSQL.
 */
import type { Test } from 'tap';
import { peek, type Session } from './client.js';
import type { LoadRecorder } from './load.js';
import type { Stack } from './stack.js';

/** Asserts, per user of `sessions`, that the stored orders are exactly those `recorder` saw answered 201; returns how many. */
export async function checkOrdersAgainstAnswers(t: Test, stack: Stack, sessions: readonly Session[], recorder: LoadRecorder): Promise<number> {
  const users = sessions.map((session) => peek(session.accessToken).sub!);
  const rows = await stack.query<{ user_id: string; id: string }>('select user_id, id::text as id from orders.orders where user_id = any($1)', [users]);
  const stored = new Map<string, string[]>();
  for (const row of rows) stored.set(row.user_id, [...(stored.get(row.user_id) ?? []), row.id]);
  let answered = 0;
  for (const user of users) {
    const got = [...(recorder.placedOrders.get(user) ?? [])].sort();
    answered += got.length;
    t.equal(new Set(got).size, got.length, `${user}: no order id was answered twice`);
    t.same([...(stored.get(user) ?? [])].sort(), got, `${user}: the orders in the database are exactly the ${got.length} the client got a 201 for`);
  }
  t.equal(rows.length, answered, `${rows.length} orders stored, ${answered} answered 201: none lost, none twice`);
  return answered;
}
