/** JSON schemas of the second-factor routes, remember me and account deletion (contract, "Accounts"). */
import { Type } from '@sinclair/typebox';

/** A TOTP code (6 digits) or a recovery code (`xxxx-xxxx-xxxx-xxxx`); spaces and dashes are tolerated. */
export const MfaCode = Type.String({ minLength: 1, maxLength: 64 });

export const TotpEnrolment = Type.Object({ secret: Type.String(), otpauth_uri: Type.String(), qr_svg: Type.String() }, { additionalProperties: false });
export const ConfirmTotpBody = Type.Object({ code: MfaCode }, { additionalProperties: false });
export const RecoveryCodes = Type.Object({ recovery_codes: Type.Array(Type.String()) }, { additionalProperties: false });
/** The password of the caller's own account, re-typed for a destructive change (any length: a wrong one is 403, not a policy hint). */
export const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
export const MfaLoginBody = Type.Object({ mfa_token: Type.String({ minLength: 1, maxLength: 128 }), code: MfaCode }, { additionalProperties: false });
/** 401 of /auth/login: the contract's error body, plus `mfa_token` when the answer is `mfa_required`. */
export const LoginRefusal = Type.Object(
  { error: Type.String(), error_description: Type.String(), mfa_token: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
