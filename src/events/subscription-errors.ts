import { AppError, ErrorCode } from '../errors';

/** A token (or this instance) already holds as many subscriptions as it may; retry after closing some. */
export class TooManySubscriptionsError extends AppError {
  readonly code = ErrorCode.RATE_LIMITED;
  constructor(what: 'token' | 'instance', limit: number) {
    super(
      what === 'token'
        ? `this token already has ${limit} subscriptions on this instance; close one first`
        : `this instance already serves ${limit} subscriptions; retry later or on another instance`,
    );
  }
}
