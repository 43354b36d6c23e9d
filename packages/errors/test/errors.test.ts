import { test } from 'tap';
import { AppError, CommonErrors, createError, isDependencyUnavailable, toWireError } from '../src/index.js';

test('AppErrors keep their code, status, description and headers', async (t) => {
  const invalidGrant = createError('invalid_grant', 401, 'The refresh token is invalid.');
  const wire = toWireError(invalidGrant(undefined, { headers: { 'www-authenticate': 'Bearer' } }));
  t.same(wire, { statusCode: 401, headers: { 'www-authenticate': 'Bearer' }, body: { error: 'invalid_grant', error_description: 'The refresh token is invalid.' } });
  t.ok(invalidGrant() instanceof AppError);
});

test('unknown errors never leak their message', async (t) => {
  const wire = toWireError(new Error('relation "auth.users" does not exist at character 15'));
  t.equal(wire.statusCode, 500);
  t.same(wire.body, { error: 'internal_error', error_description: 'Something went wrong on our side.' });
  t.same(toWireError('a string').statusCode, 500);
  t.same(toWireError(null).statusCode, 500);
});

test('framework errors map to the contract statuses', async (t) => {
  t.equal(toWireError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415, message: 'x' }).statusCode, 415);
  t.equal(toWireError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }).body.error, 'payload_too_large');
  const validation = toWireError({ validation: [{}], statusCode: 400, message: 'body/quantity must be <= 1000' });
  t.same(validation.body, { error: 'invalid_request', error_description: 'body/quantity must be <= 1000' });
  t.equal(toWireError({ statusCode: 405, message: 'internal text' }).body.error_description, 'Method not allowed.');
});

test('dependency outages become 503 with Retry-After', async (t) => {
  for (const error of [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }),
    new Error('timeout exceeded when trying to connect'),
    Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
    Object.assign(new Error('Redis is unavailable'), { code: 'ERR_BUS_UNAVAILABLE' }),
    new Error('Command timed out'),
    // A wrapper with a message of its own around a PostgreSQL shutdown (57P01), as a transaction
    // helper or a domain error rethrows it: the cause decides, not the wrapper's text.
    new Error('refresh rotation failed', { cause: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) }),
  ]) {
    t.ok(isDependencyUnavailable(error), error.message);
    const wire = toWireError(error);
    t.equal(wire.statusCode, 503);
    t.equal(wire.headers['retry-after'], '5');
  }
  t.notOk(isDependencyUnavailable(new Error('syntax error')));
  t.notOk(isDependencyUnavailable(new Error('wrapped', { cause: new Error('syntax error') })));
  t.equal(CommonErrors.serviceUnavailable().headers['retry-after'], '5');
});
