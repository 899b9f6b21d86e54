import type { Principal } from '../modules/access/access-policy';
import type { BusMessage } from './bus/bus-message';

/** graphql-ws's Forbidden: the bundled client treats it as final (graphql-ws clients retry other codes). */
export const CLOSE_FORBIDDEN = 4403;

type Close = (code: number, reason: string) => void;

interface Connection {
  readonly principal: Principal;
  readonly close: Close;
  timer?: NodeJS.Timeout;
}

/* setTimeout's limit is 2^31-1 ms (~24.8 days); a later expiry is re-armed when it comes due. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * This instance's open subscription connections, by who opened them, so
 * that a token that stops being valid loses them at once: revoked (on any
 * instance: the bus says so), deleted with its environment or space, or
 * past its expiresAt (a timer here). Each closes with 4403.
 */
export class LiveConnections {
  private readonly connections = new Set<Connection>();

  get size(): number {
    return this.connections.size;
  }

  /** Registers a connection; returns its removal. */
  add(principal: Principal, close: Close): () => void {
    const connection: Connection = { principal, close };
    this.connections.add(connection);
    this.arm(connection);
    return () => this.remove(connection);
  }

  /** Closes the connections a bus message (or a feed row) invalidates. */
  invalidate(message: BusMessage): void {
    const tokens = new Set(message.revokedTokens ?? []);
    const environments = new Set(message.deletedEnvironments ?? []);
    const spaces = new Set(message.deletedSpaces ?? []);
    if (!tokens.size && !environments.size && !spaces.size) return;
    for (const connection of [...this.connections]) {
      const p = connection.principal;
      const revoked = (p.tokenId && tokens.has(p.tokenId)) || (p.sessionOf && tokens.has(p.sessionOf));
      const gone = (p.environmentId && environments.has(p.environmentId)) || (p.spaceId && spaces.has(p.spaceId));
      if (revoked || gone) this.end(connection, revoked ? 'token revoked' : 'token deleted with its environment or space');
    }
  }

  /** Every connection, e.g. on shutdown. */
  closeAll(code: number, reason: string): void {
    for (const connection of [...this.connections]) {
      this.remove(connection);
      connection.close(code, reason);
    }
  }

  private arm(connection: Connection): void {
    const expiresAt = connection.principal.expiresAt;
    if (!expiresAt) return;
    const wait = expiresAt.getTime() - Date.now();
    if (wait <= 0) return this.end(connection, 'token expired');
    connection.timer = setTimeout(() => (wait > MAX_TIMER_MS ? this.arm(connection) : this.end(connection, 'token expired')), Math.min(wait, MAX_TIMER_MS));
    connection.timer.unref();
  }

  private end(connection: Connection, reason: string): void {
    this.remove(connection);
    connection.close(CLOSE_FORBIDDEN, reason);
  }

  private remove(connection: Connection): void {
    clearTimeout(connection.timer);
    this.connections.delete(connection);
  }
}
