import { QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

import { constraintViolation, isConnectionFailure } from '../../src/db/pg-errors';

const pgError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'pg error')), fields);
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('isConnectionFailure', () => {
  it.each([
    ['admin shutdown (57P01)', pgError({ code: '57P01', message: 'terminating connection due to administrator command' })],
    ['cannot connect now (57P03)', pgError({ code: '57P03', message: 'the database system is starting up' })],
    ['connection failure (08006)', pgError({ code: '08006' })],
    ['too many connections (53300)', pgError({ code: '53300' })],
    ['refused socket', pgError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' })],
    ['terminated client', new Error('Connection terminated unexpectedly')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['database closed to connections', pgError({ code: '55000', message: 'database "x" is not currently accepting connections' })],
    ['wrapped by TypeORM', wrapped(pgError({ code: '57P01' }))],
    ['a transaction whose connection died (TypeORM released its runner)', new QueryRunnerAlreadyReleasedError()],
  ])('recognises %s', (_label, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    ['a unique violation', pgError({ code: '23505' })],
    ['a syntax error', pgError({ code: '42601', message: 'syntax error at or near "x"' })],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['nothing', undefined],
  ])('does not mistake %s for an outage', (_label, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

describe('constraintViolation', () => {
  it('names the constraint of unique and foreign-key violations, through TypeORM’s wrapper', () => {
    expect(constraintViolation(wrapped(pgError({ code: '23505', constraint: 'environment_name_key' })))).toEqual({
      code: '23505',
      constraint: 'environment_name_key',
    });
    expect(constraintViolation(pgError({ code: '23503', constraint: 'secret_space_fkey' }))).toEqual({ code: '23503', constraint: 'secret_space_fkey' });
    expect(constraintViolation(pgError({ code: '42601' }))).toBeUndefined();
  });
});
