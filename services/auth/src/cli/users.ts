/**
 * authctl users create|list|disable|enable|set-role|reset-mfa|delete and admin create: user
 * administration from the command line.
 * Changes go through the same domain functions as POST /auth/register and PATCH /admin/users, so
 * disabling a user or changing their role revokes all their sessions and tells every gateway.
 */
import { parseArgs } from 'node:util';
import { AppError } from '@keygate/errors';
import type { AuthConfig } from '../config.js';
import { adminUpdateUser, createAdmin, deleteAccount, findUserByEmailAddress, registerUser } from '../accounts/service.js';
import { resetMfa } from '../mfa/service.js';
import { usersMatching } from '../admin/service.js';
import type { UserRow } from '../db/schema.js';
import { normalizeEmail } from '../accounts/emails.js';
import { createPasswordHasher } from '../accounts/passwords.js';
import { CLI_ACTOR, CLI_META, parseUserRef, resolveUser, withAuthContext, type UserRef } from './context.js';
import { CliFailure, UsageError, withDatabase } from './support.js';

type Role = 'user' | 'admin';

function parseRole(value: string): Role {
  if (value !== 'user' && value !== 'admin') throw new UsageError(`role must be admin or user, got "${value}"`);
  return value;
}

function view(user: UserRow) {
  return { id: user.id, email: user.email, role: user.role, disabled: user.disabled, created_at: user.created_at.toISOString(), updated_at: user.updated_at.toISOString() };
}

async function create(config: AuthConfig, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string', default: 'user' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { email, password } = values;
  if (email === undefined || password === undefined) throw new UsageError('users create needs --email and --password');
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim()) || email.trim().length > 254) throw new UsageError('--email must be an email address');
  if (password.length < 8 || password.length > 256) throw new UsageError('--password must be 8 to 256 characters');
  const role = parseRole(values.role ?? 'user');
  const taken = new CliFailure(`an account with email ${normalizeEmail(email)} already exists: nothing changed`);
  const user = await withAuthContext(config, { revokes: false }, async (ctx) => {
    if (role === 'admin') {
      if ((await createAdmin(ctx, email, password, { promoteExisting: false })) !== 'created') throw taken;
      return (await findUserByEmailAddress(ctx.db, email))!;
    }
    try {
      return await registerUser(ctx, email, password, CLI_META);
    } catch (error) {
      if (error instanceof AppError && error.code === 'email_taken') throw taken;
      throw error;
    }
  });
  console.log(values.json ? JSON.stringify(view(user)) : `user created: ${user.id} ${user.email} (${user.role})`);
}

async function list(config: AuthConfig, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { role: { type: 'string' }, disabled: { type: 'boolean' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const filter = { ...(values.role !== undefined ? { role: parseRole(values.role) } : {}), ...(values.disabled ? { disabled: true } : {}) };
  const users = (await withDatabase(config, (db) => usersMatching(db, filter))).map(view);
  if (values.json) {
    console.log(JSON.stringify(users));
    return;
  }
  console.log(['id', 'email', 'role', 'state', 'created_at'].join('\t'));
  for (const u of users) console.log([u.id, u.email, u.role, u.disabled ? 'disabled' : 'enabled', u.created_at].join('\t'));
}

function oneUser(args: string[], extra = 0): string[] {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1 + extra) throw new UsageError(extra === 0 ? 'give exactly one user (email or id)' : 'give a user (email or id) and a role');
  return positionals;
}

/** One PATCH /admin/users change; prints what happened, including how many sessions were revoked. */
async function change(config: AuthConfig, ref: UserRef, changes: { role?: Role; disabled?: boolean }, describe: (user: UserRow) => string): Promise<void> {
  const { user, revoked } = await withAuthContext(config, { revokes: changes.disabled === true || changes.role !== undefined }, async (ctx) => {
    const target = await resolveUser(ctx.db, ref);
    const updated = await adminUpdateUser(ctx, CLI_ACTOR, target.id, changes, CLI_META);
    // adminUpdateUser revokes exactly when the role changed or the user became disabled.
    return { user: updated, revoked: target.role !== updated.role || (updated.disabled && !target.disabled) };
  });
  console.log(`${describe(user)}${revoked ? '; all their sessions are revoked' : ''}`);
}

async function disable(config: AuthConfig, args: string[]): Promise<void> {
  const [ref] = oneUser(args);
  await change(config, parseUserRef(ref!), { disabled: true }, (u) => `user ${u.email} (${u.id}) is disabled`);
}

async function enable(config: AuthConfig, args: string[]): Promise<void> {
  const [ref] = oneUser(args);
  await change(config, parseUserRef(ref!), { disabled: false }, (u) => `user ${u.email} (${u.id}) is enabled`);
}

async function setRole(config: AuthConfig, args: string[]): Promise<void> {
  const [ref, roleArg] = oneUser(args, 1);
  const role = parseRole(roleArg!);
  await change(config, parseUserRef(ref!), { role }, (u) => `user ${u.email} (${u.id}) has role ${u.role}`);
}

/** Support's reset of a lost second factor: the user signs in with the password alone and may enrol again. */
async function resetMfaCommand(config: AuthConfig, args: string[]): Promise<void> {
  const [ref] = oneUser(args);
  const { user, removed } = await withAuthContext(config, { revokes: false }, async (ctx) => {
    const target = await resolveUser(ctx.db, parseUserRef(ref!));
    return { user: target, removed: await resetMfa(ctx, target.id, CLI_META) };
  });
  if (!removed) throw new CliFailure(`user ${user.email} (${user.id}) has no second factor: nothing changed`);
  console.log(`second factor of ${user.email} (${user.id}) removed; they sign in with their password and may enrol again`);
}

/** Deletes an account as DELETE /auth/me does (without the password): sessions revoked everywhere, data removed. */
async function deleteCommand(config: AuthConfig, args: string[]): Promise<void> {
  const [ref] = oneUser(args);
  const user = await withAuthContext(config, { revokes: true }, async (ctx) => {
    const target = await resolveUser(ctx.db, parseUserRef(ref!));
    try {
      await deleteAccount(ctx, target.id, { by: 'authctl' }, CLI_META);
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict') throw new CliFailure(`${error.message} Nothing changed.`);
      throw error;
    }
    return target;
  });
  console.log(`account ${user.email} (${user.id}) deleted; all its sessions are revoked`);
}

async function adminCreate(config: AuthConfig, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' }, promote: { type: 'boolean', default: false } }, strict: true });
  const { email, password } = values;
  if (email === undefined || password === undefined) throw new UsageError('admin create needs --email and --password');
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) throw new UsageError('--email must be an email address');
  if (password.length < 8 || password.length > 256) throw new UsageError('--password must be 8 to 256 characters');
  await withDatabase(config, async (db) => {
    const outcome = await createAdmin({ db, passwords: createPasswordHasher({ concurrency: config.passwordHashConcurrency }) }, email, password, { promoteExisting: values.promote ?? false });
    const messages = {
      created: 'admin created',
      promoted: 'existing account promoted to admin (password reset to the one given)',
      already_admin: 'that account is already an admin: nothing changed',
      taken_by_user: 'that email belongs to a non-admin account: nothing changed (pass --promote to make it admin)',
    } as const;
    console.log(messages[outcome]);
    if (outcome === 'taken_by_user') process.exitCode = 1;
  });
}

export async function usersCommand(config: AuthConfig, command: string, args: string[]): Promise<void> {
  if (command === 'admin create') return adminCreate(config, args);
  if (command === 'users create') return create(config, args);
  if (command === 'users list') return list(config, args);
  if (command === 'users disable') return disable(config, args);
  if (command === 'users enable') return enable(config, args);
  if (command === 'users set-role') return setRole(config, args);
  if (command === 'users reset-mfa') return resetMfaCommand(config, args);
  if (command === 'users delete') return deleteCommand(config, args);
  throw new UsageError(`unknown command: ${command}`);
}
