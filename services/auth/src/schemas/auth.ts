/** JSON schemas of the /auth/* and /admin/* routes: strict (no extra properties), one per shape. */
import { Type } from '@sinclair/typebox';
import { errorSchema } from '@keygate/service-kit';

export const ErrorBody = errorSchema;

/** Surrounding whitespace is allowed: emails are trimmed (and NFC-normalised, lowercased) before use. */
export const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' });
export const Password = Type.String({ minLength: 8, maxLength: 256 });
export const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
export const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

export const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false });
/** Login accepts any string length so a wrong-length password is 401, not a 400 that leaks policy. */
export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    /** Remember me: a persistent refresh cookie (Max-Age); otherwise it ends with the browser session. */
    remember: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const PasswordChangeBody = Type.Object({ current_password: Type.String({ minLength: 1, maxLength: 256 }), new_password: Password }, { additionalProperties: false });

export const PublicUser = Type.Object({ id: Type.String(), email: Type.String(), role: Type.String() }, { additionalProperties: false });
export const Me = Type.Object(
  { id: Type.String(), email: Type.String(), role: Type.String(), created_at: Type.String(), email_verified: Type.Boolean() },
  { additionalProperties: false },
);
export const TokenResponse = Type.Object(
  { access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() },
  { additionalProperties: false },
);
export const SessionView = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String(),
    last_used_at: Type.String(),
    ip: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean(),
  },
  { additionalProperties: false },
);
export const ConsentView = Type.Object(
  { client_id: Type.String(), client_name: Type.String(), scopes: Type.Array(Type.String()), granted_at: Type.String(), updated_at: Type.String() },
  { additionalProperties: false },
);
export const AdminUser = Type.Object(
  { id: Type.String(), email: Type.String(), role: Type.String(), disabled: Type.Boolean(), created_at: Type.String(), updated_at: Type.String() },
  { additionalProperties: false },
);
export const AdminUserPatch = Type.Object({ role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 });
export const AdminUsersQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })), offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })) },
  { additionalProperties: false },
);
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** A mailed single-use token (verification, reset): any short string; a wrong shape is invalid_token, not a schema error. */
const MailedToken = Type.String({ minLength: 1, maxLength: 256 });
export const VerifyEmailBody = Type.Object({ token: MailedToken }, { additionalProperties: false });
export const PasswordResetBody = Type.Object({ email: Email }, { additionalProperties: false });
export const PasswordResetConfirmBody = Type.Object({ token: MailedToken, new_password: Password }, { additionalProperties: false });
