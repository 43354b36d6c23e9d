/** JSON schemas shared by every service's route declarations. */
export const ErrorResponse = {
  $id: 'ErrorResponse',
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
  },
} as const;

/** Response schemas for the error statuses a route may declare: `{ 400: errorSchema, ... }`. */
export const errorSchema = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
  },
} as const;
