import type { Config } from '../config';
import type { EnvironmentKeyring } from '../crypto/keyring';
import type { Queryable } from '../db/statements';
import type { Logger } from '../logger';
import type { InvalidatingRecord } from './bus/bus-message';
import { invalidationsOf, isInvalidation, mergeMessages, type BusMessage } from './bus/bus-message';
import type { EventBus } from './bus/bus';
import { LocalBus } from './bus/local-bus';
import { PgBus } from './bus/pg-bus';
import { ChangeFeed } from './change-feed';
import { EventService } from './event.service';
import { FanOut } from './fan-out';
import { FeedTail } from './feed-tail';
import { LiveConnections } from './live-connections';
import type { TokenCache } from '../modules/token/token-cache';

/** Everything that keeps instances coherent and serves `secretEvents`, wired once per container. */
export interface EventSystem {
  readonly bus: EventBus;
  readonly tail: FeedTail;
  readonly service: EventService;
  readonly connections: LiveConnections;
  /** The audit log's after-commit hook: tells every instance (this one at once) about committed changes. */
  changesCommitted(records: readonly InvalidatingRecord[]): void;
  /** Servers only: read the feed and listen. The CLI never starts it and only publishes. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For /readyz: false while an external bus has no listening connection. */
  readonly ready: boolean;
  /** Called once per turn of the event loop in which the feed reader handed on committed change rows: the webhook worker's cue. */
  onRows(listener: () => void): void;
}

interface Deps {
  readonly config: Pick<Config, 'embedded' | 'databaseUrl' | 'events'>;
  readonly logger: Logger;
  /** Feed reads and notifications: the server's prepared statements (named unless DB_PREPARED_STATEMENTS=false). */
  readonly db: Queryable;
  readonly tokenCache: Pick<TokenCache, 'forget' | 'resume' | 'suspend'>;
  readonly keyring: Pick<EnvironmentKeyring, 'forgetEnvironment'>;
}

/* Close code for connections dropped at shutdown: "going away", which clients retry elsewhere. */
const GOING_AWAY = 1001;

export function createEventSystem({ config, logger, db, tokenCache, keyring }: Deps): EventSystem {
  const bus: EventBus = config.embedded
    ? new LocalBus()
    : new PgBus({ listenUrl: config.events.listenUrl ?? config.databaseUrl!, notifier: db, logger });
  const connections = new LiveConnections();
  const fanOut = new FanOut(logger);
  const feed = new ChangeFeed(db);
  const rowListeners: (() => void)[] = [];
  /* Once per turn of the event loop however many rows a read handed on: a page of 500 is one cue, not 500. */
  let cueScheduled = false;
  const rowsArrived = () => {
    if (cueScheduled || rowListeners.length === 0) return;
    cueScheduled = true;
    setImmediate(() => {
      cueScheduled = false;
      for (const listener of rowListeners) listener();
    });
  };

  /* The same invalidation whether it came by notification, from the feed (a missed notification) or from this instance's own commit. */
  const invalidate = (message: BusMessage) => {
    if (!isInvalidation(message)) return;
    tokenCache.forget({ tokenIds: message.revokedTokens, environmentIds: message.deletedEnvironments, spaceIds: message.deletedSpaces });
    for (const environmentId of [...(message.rotatedKeys ?? []), ...(message.deletedEnvironments ?? [])]) keyring.forgetEnvironment(environmentId);
    connections.invalidate(message);
  };

  const tail = new FeedTail(
    feed,
    (row) => {
      invalidate(invalidationsOf([row]));
      fanOut.deliver(row);
      rowsArrived();
    },
    { pollMs: config.events.pollMs, batchMs: config.events.batchMs },
    logger,
  );

  bus.listen({
    message(message) {
      invalidate(message);
      if (message.changes) tail.wake();
    },
    connected() {
      tokenCache.resume();
      tail.wake(); // catch up on what was committed while nobody was listening
    },
    disconnected() {
      tokenCache.suspend();
    },
  });

  const service = new EventService({ db, feed, fanOut }, config.events);

  return {
    bus,
    tail,
    service,
    connections,
    changesCommitted(records) {
      const invalidations = invalidationsOf(records);
      invalidate(invalidations);
      bus.publish(mergeMessages({ changes: true }, invalidations));
    },
    async start() {
      await tail.start();
      await bus.start();
      tail.wake();
    },
    async stop() {
      connections.closeAll(GOING_AWAY, 'server shutting down');
      await tail.stop();
      await bus.stop();
    },
    get ready() {
      return !bus.external || bus.listening;
    },
    onRows(listener) {
      rowListeners.push(listener);
    },
  };
}
