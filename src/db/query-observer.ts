import type { Logger as TypeOrmLogger } from 'typeorm';

import type { Logger } from '../logger';

/**
 * Leads the text of statements an instance runs on its own schedule (the
 * change feed's reads, notifications, timers), so they are counted apart
 * from the statements requests cause.
 */
export const BACKGROUND = '/* background */ ';

/**
 * TypeORM's logger hook. It counts statements (the batching tests and the
 * benchmark read the count) and logs failures without their parameters,
 * which may hold ciphertext or names.
 */
export class QueryObserver implements TypeOrmLogger {
  /** Statements caused by requests (and the CLI). */
  statements = 0;
  /** Statements tagged BACKGROUND. */
  background = 0;

  constructor(private readonly logger?: Logger) {}

  logQuery(query = ''): void {
    if (query.startsWith(BACKGROUND)) this.background += 1;
    else this.statements += 1;
  }

  logQueryError(error: string | Error): void {
    const message = typeof error === 'string' ? error : error.message;
    this.logger?.debug({ err: { message } }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger?.warn({ ms: time, query: query.slice(0, 200) }, 'slow query');
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.logger?.info({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger?.warn({ message: String(message) }, 'database');
  }
}
