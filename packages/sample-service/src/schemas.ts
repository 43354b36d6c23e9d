/** TypeBox schemas the sample services' routes share. */
import { Type } from '@sinclair/typebox';

/** `/{collection}/{id}`: a UUID, nothing else. */
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** 1 to 200, no leading zeros or signs. */
const PAGE_SIZE_PATTERN = '^(?:[1-9][0-9]?|1[0-9]{2}|200)$';

/** A list's query: `limit` (page size) and `before` (the id of the last item of the previous page). */
export const PageQuery = Type.Object(
  {
    /** Page size 1..200. A decimal string: the service's ajv never coerces, query values included. */
    limit: Type.String({ pattern: PAGE_SIZE_PATTERN, default: '50' }),
    /** The id of the last item of the previous page. */
    before: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
