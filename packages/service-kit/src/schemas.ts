/** JSON schemas shared by every service's route declarations. */

/** The contract's error body, for the error statuses a route declares: `{ 400: errorSchema, ... }`. */
export const errorSchema = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
  },
} as const;

/** The same, registrable once with `app.addSchema` and referenced by `$ref: 'ErrorResponse#'`. */
export const ErrorResponse = { $id: 'ErrorResponse', ...errorSchema } as const;
