import WebSocket from 'ws';

/*
 * The subscribers of the fan-out scenario (bench/scenarios/fanout.ts), in a
 * child process of the bench so that reading a thousand sockets does not
 * slow the writer down, nor the other way round. Each subscription is its
 * own graphql-transport-ws connection, as a fleet of listeners would hold.
 * It records, for every event of the measured names, when it arrived (this
 * machine's clock, as PostgreSQL's `at` is): a histogram of delivery
 * latencies and, per event, its `at`, how many subscriptions got it and when
 * the last one did. Commands arrive over IPC.
 */

export interface SubscriptionSpec {
  readonly url: string;
  readonly token: string;
  readonly variables: Record<string, unknown>;
}

export type Command =
  | { readonly type: 'open'; readonly subscriptions: readonly SubscriptionSpec[] }
  | { readonly type: 'status' }
  | { readonly type: 'measure'; readonly prefix: string }
  | { readonly type: 'report' }
  | { readonly type: 'close' };

export interface Status {
  readonly opened: number;
  readonly failed: number;
  /** Subscriptions that received at least one event since they opened. */
  readonly live: number;
  readonly closed: Record<string, number>;
  /** Deliveries of measured events so far. */
  readonly delivered: number;
}

export interface EventRecord {
  readonly at: number;
  readonly count: number;
  readonly first: number;
  readonly last: number;
}

export interface Report extends Status {
  /** Delivery latency (arrival − `at`), 1 ms buckets; the last bucket holds everything later. */
  readonly histogram: number[];
  /** name@version → its arrivals. */
  readonly events: Record<string, EventRecord>;
}

const QUERY = 'subscription($spaceId: ID) { secretEvents(spaceId: $spaceId) { name version at } }';
const HISTOGRAM_MS = 60_000;

const now = () => performance.timeOrigin + performance.now();

class Fleet {
  private readonly sockets: WebSocket[] = [];
  private opened = 0;
  private failed = 0;
  private readonly seen = new Set<number>();
  private readonly closed: Record<string, number> = {};
  private prefix: string | undefined;
  private delivered = 0;
  private histogram = new Array<number>(HISTOGRAM_MS + 1).fill(0);
  private readonly events = new Map<string, { at: number; count: number; first: number; last: number }>();

  async open(subscriptions: readonly SubscriptionSpec[]): Promise<void> {
    /* A few at a time: a thousand simultaneous upgrades would time out on a busy machine. */
    let next = 0;
    const worker = async () => {
      while (next < subscriptions.length) {
        const index = next++;
        await this.openOne(index, subscriptions[index]).then(
          () => (this.opened += 1),
          () => (this.failed += 1),
        );
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }

  private openOne(index: number, spec: SubscriptionSpec): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${spec.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      this.sockets.push(socket);
      let acked = false;
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${spec.token}` } })));
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        if (!acked) reject(new Error(`closed with ${code} before connection_ack`));
        else if (code !== 1000) this.closed[code] = (this.closed[code] ?? 0) + 1;
      });
      socket.on('message', (data) => {
        const text = String(data);
        if (!acked) {
          if (!text.includes('"connection_ack"')) return;
          acked = true;
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: spec.variables } }));
          return resolve();
        }
        this.receive(index, text);
      });
    });
  }

  private receive(index: number, text: string): void {
    const arrived = now();
    const message = JSON.parse(text) as { type: string; payload?: { data?: { secretEvents?: { name: string; version: number; at: string } } } };
    if (message.type === 'ping') return;
    const event = message.payload?.data?.secretEvents;
    if (!event) return;
    this.seen.add(index);
    if (this.prefix === undefined || !event.name.startsWith(this.prefix)) return;
    const at = Date.parse(event.at);
    const key = `${event.name}@${event.version}`;
    let record = this.events.get(key);
    if (!record) this.events.set(key, (record = { at, count: 0, first: arrived, last: arrived }));
    record.count += 1;
    record.last = Math.max(record.last, arrived);
    record.first = Math.min(record.first, arrived);
    this.histogram[Math.min(HISTOGRAM_MS, Math.max(0, Math.round(arrived - at)))] += 1;
    this.delivered += 1;
  }

  measure(prefix: string): void {
    this.prefix = prefix;
    this.delivered = 0;
    this.histogram = new Array<number>(HISTOGRAM_MS + 1).fill(0);
    this.events.clear();
    for (const code of Object.keys(this.closed)) delete this.closed[code];
  }

  status(): Status {
    return { opened: this.opened, failed: this.failed, live: this.seen.size, closed: { ...this.closed }, delivered: this.delivered };
  }

  report(): Report {
    return { ...this.status(), histogram: this.histogram, events: Object.fromEntries(this.events) };
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
  }
}

if (require.main === module && process.send) {
  const fleet = new Fleet();
  process.on('message', (command: Command) => {
    const reply = (message: unknown) => process.send!(message);
    if (command.type === 'open') void fleet.open(command.subscriptions).then(() => reply(fleet.status()));
    else if (command.type === 'status') reply(fleet.status());
    else if (command.type === 'measure') {
      fleet.measure(command.prefix);
      reply(fleet.status());
    } else if (command.type === 'report') reply(fleet.report());
    else {
      fleet.close();
      reply(fleet.status());
    }
  });
  process.on('disconnect', () => {
    fleet.close();
    process.exit(0);
  });
}
