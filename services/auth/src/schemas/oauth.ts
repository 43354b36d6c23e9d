/**
 * Schemas of the /oauth/* endpoints. Parameters are strings (a repeated parameter arrives as an
 * array and is refused: RFC 6749 §3.1 "MUST NOT be included more than once"); unknown parameters
 * are allowed and ignored, as RFC 6749 §3.1/§3.2 require of the server.
 */
import { Type, type Static } from '@sinclair/typebox';

const Param = (maxLength = 2048) => Type.Optional(Type.String({ maxLength }));

export const TokenParams = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 100 }),
    client_id: Param(100),
    client_secret: Param(200),
    code: Param(200),
    redirect_uri: Param(),
    code_verifier: Param(200),
    refresh_token: Param(200),
    username: Param(254),
    password: Param(256),
    scope: Param(),
  },
  { additionalProperties: true },
);
export type TokenParams = Static<typeof TokenParams>;

export const TokenRequestParams = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 4096 }), token_type_hint: Param(100), client_id: Param(100), client_secret: Param(200) },
  { additionalProperties: true },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer(),
    refresh_token: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const IntrospectionResponse = Type.Object(
  {
    active: Type.Boolean(),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    sub: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    iss: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
    role: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const AuthorizeQuery = Type.Object(
  {
    response_type: Param(100),
    client_id: Param(100),
    redirect_uri: Param(),
    state: Param(1024),
    scope: Param(),
    code_challenge: Param(200),
    code_challenge_method: Param(20),
    // OpenID Connect Core §3.1.2.1.
    nonce: Param(512),
    prompt: Param(100),
    max_age: Param(20),
  },
  { additionalProperties: true },
);
export type AuthorizeQuery = Static<typeof AuthorizeQuery>;

export const AuthorizeForm = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 256 }), request: Type.String({ minLength: 1, maxLength: 8192 }) },
  { additionalProperties: false },
);

/** The sign-in form's second step for an account with a second factor (issue 18). */
export const AuthorizeCodeForm = Type.Object(
  { request: Type.String({ minLength: 1, maxLength: 8192 }), mfa_token: Type.String({ minLength: 1, maxLength: 128 }), code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const ConsentForm = Type.Object(
  { consent: Type.String({ minLength: 1, maxLength: 8192 }), decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]) },
  { additionalProperties: false },
);

/** OpenID Connect RP-Initiated Logout 1.0 §2 (ui_locales and logout_hint are accepted and ignored). */
export const LogoutParams = Type.Object(
  { id_token_hint: Param(8192), client_id: Param(100), post_logout_redirect_uri: Param(), state: Param(1024) },
  { additionalProperties: true },
);

export const Html = Type.String();
export const Empty = Type.Null();
