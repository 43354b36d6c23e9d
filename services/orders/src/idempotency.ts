/**
 * POST /orders' Idempotency-Key policy (contract, "Sample services"): how long a key counts and
 * what makes two requests "the same". The header's shape is service-kit's (the gateway checks the
 * same one).
 */
import { createHash } from 'node:crypto';
import type { CreateOrderBody } from './schemas/orders.js';

/** A key counts for 24 hours after its first use; then it is purged and may place a new order. */
export const IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 3_600;

/**
 * The request's fingerprint: SHA-256 of its fields in a fixed order, so the same order sent with
 * its JSON members in another order or other whitespace is the same request.
 */
export function requestHash(body: CreateOrderBody): string {
  return createHash('sha256').update(JSON.stringify([body.item, body.quantity])).digest('hex');
}
