/** Response schemas of the /.well-known documents. */
import { Type } from '@sinclair/typebox';

export const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }, { additionalProperties: false });
export const Metadata = Type.Object({}, { additionalProperties: true });
