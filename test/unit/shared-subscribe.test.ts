import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';

import { createSharedSubscribe, SEND_SERIALISED, type SendSerialised } from '../../src/graphql/shared-subscribe';

/*
 * graphql/shared-subscribe.ts: an event is executed once per operation
 * shape, however many subscribers receive it; an errorless answer goes to
 * a transport's SEND_SERIALISED as JSON serialised once; the rest goes back
 * through the iterator; return() ends the source even while a next() waits.
 */

interface Event {
  readonly name: string;
  readonly version: number;
}

/** A source stream the test pushes into, as LiveSubscription is for the transport. */
class Source implements AsyncIterableIterator<Event> {
  private readonly queue: Event[] = [];
  private waiting?: (result: IteratorResult<Event>) => void;
  ended = false;

  push(event: Event): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting({ value: event, done: false });
    else this.queue.push(event);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Event>> {
    if (this.ended) return { value: undefined, done: true };
    const event = this.queue.shift();
    if (event) return { value: event, done: false };
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async return(): Promise<IteratorResult<Event>> {
    this.ended = true;
    this.waiting?.({ value: undefined, done: true });
    return { value: undefined, done: true };
  }
}

let resolved = 0;
const EventType = new GraphQLObjectType<Event>({
  name: 'Event',
  fields: {
    name: { type: GraphQLString, resolve: (e) => (resolved++, e.name) },
    version: { type: GraphQLInt },
    broken: {
      type: GraphQLString,
      resolve: () => {
        throw new Error('this field fails');
      },
    },
  },
});

function schemaFor(sources: Source[]): GraphQLSchema {
  let next = 0;
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        events: {
          type: EventType,
          args: { prefix: { type: GraphQLString } },
          subscribe: () => {
            if (next >= sources.length) throw new Error('no more subscriptions here');
            return sources[next++];
          },
          resolve: (event: Event) => event,
        },
      },
    }),
  });
}

const ONE = 'subscription($prefix: String) { events(prefix: $prefix) { name version } }';

async function subscribed(
  subscribe: ReturnType<typeof createSharedSubscribe>,
  schema: GraphQLSchema,
  query: string,
  variableValues: Record<string, unknown> = {},
  contextValue: Record<PropertyKey, unknown> = {},
): Promise<AsyncIterableIterator<ExecutionResult>> {
  const result = await subscribe({ schema, document: parse(query), variableValues, contextValue });
  if (!(Symbol.asyncIterator in result)) throw new Error(`not subscribed: ${JSON.stringify(result)}`);
  return result;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => (resolved = 0));

it('executes an event once for every subscriber of the same query and variables, and once more per other shape', async () => {
  const sources = [new Source(), new Source(), new Source(), new Source()];
  const schema = schemaFor(sources);
  const subscribe = createSharedSubscribe();
  const a = await subscribed(subscribe, schema, ONE);
  const b = await subscribed(subscribe, schema, ONE);
  const otherVariables = await subscribed(subscribe, schema, ONE, { prefix: 'X' });
  const otherQuery = await subscribed(subscribe, schema, 'subscription { events { name } }');

  const event = { name: 'API_KEY', version: 3 };
  for (const source of sources) source.push(event);
  const results = await Promise.all([a, b, otherVariables, otherQuery].map(async (s) => (await s.next()).value as ExecutionResult));

  expect(results.map((r) => r.data)).toEqual([
    { events: { name: 'API_KEY', version: 3 } },
    { events: { name: 'API_KEY', version: 3 } },
    { events: { name: 'API_KEY', version: 3 } },
    { events: { name: 'API_KEY' } },
  ]);
  expect(results[0]).toBe(results[1]); // one execution, shared
  expect(resolved).toBe(3); // three shapes, four subscribers

  /* Another event object is executed afresh, even with equal contents. */
  sources[0].push({ ...event });
  sources[1].push({ ...event });
  await Promise.all([a.next(), b.next()]);
  expect(resolved).toBe(5);
});

it('hands an errorless answer to SEND_SERIALISED as JSON serialised once, for every subscriber of its shape', async () => {
  const sources = [new Source(), new Source()];
  const schema = schemaFor(sources);
  const subscribe = createSharedSubscribe();
  const sent: string[][] = [[], []];
  const senders: SendSerialised[] = sent.map((frames) => (json) => void frames.push(json));
  const query = 'subscription($withBroken: Boolean!) { events { name broken @include(if: $withBroken) } }';
  const streams = await Promise.all(senders.map((send) => subscribed(subscribe, schema, query, { withBroken: false }, { [SEND_SERIALISED]: send })));

  const pending = streams.map((s) => s.next()); // waits past every event it sends itself
  const event = { name: 'DB_URL', version: 1 };
  sources[0].push(event);
  sources[1].push(event);
  await new Promise((resolve) => setImmediate(resolve));
  expect(sent).toEqual([[JSON.stringify({ data: { events: { name: 'DB_URL' } } })], [JSON.stringify({ data: { events: { name: 'DB_URL' } } })]]);
  expect(sent[0][0]).toBe(sent[1][0]); // the same string, serialised once
  expect(resolved).toBe(1);

  await Promise.all(streams.map((s) => s.return!()));
  expect(await Promise.all(pending)).toEqual([
    { value: undefined, done: true },
    { value: undefined, done: true },
  ]);
});

it('yields an answer with errors through the iterator (to the transport\'s own error formatting), not to SEND_SERIALISED', async () => {
  const source = new Source();
  const schema = schemaFor([source]);
  const frames: string[] = [];
  const stream = await subscribed(createSharedSubscribe(), schema, 'subscription { events { name broken } }', {}, { [SEND_SERIALISED]: (json: string) => void frames.push(json) });
  source.push({ name: 'TOKEN', version: 2 });
  const { value } = await stream.next();
  expect((value as ExecutionResult).data).toEqual({ events: { name: 'TOKEN', broken: null } });
  expect((value as ExecutionResult).errors?.map((e) => e.message)).toEqual(['this field fails']);
  expect(frames).toEqual([]);
});

it('return() ends the source at once, even while a next() waits for an event', async () => {
  const source = new Source();
  const stream = await subscribed(createSharedSubscribe(), schemaFor([source]), ONE);
  const waiting = stream.next();
  await stream.return!();
  expect(source.ended).toBe(true);
  expect(await waiting).toEqual({ value: undefined, done: true });
});

it('passes a refused subscription’s errors through', async () => {
  const result = await createSharedSubscribe()({ schema: schemaFor([]), document: parse('subscription { events { name } }') });
  expect(Symbol.asyncIterator in result).toBe(false);
  expect((result as ExecutionResult).errors?.map((e) => e.message)).toEqual(['no more subscriptions here']);
});

/** A Source that also offers its events to a push consumer while its own consumer waits (as LiveSubscription does). */
class PushSource extends Source {
  private pusher?: (event: Event) => boolean;
  waitingNext = false;

  pushTo(push: (event: Event) => boolean): void {
    this.pusher = push;
  }

  offer(event: Event): 'pushed' | 'queued' {
    if (this.waitingNext && this.pusher?.(event)) return 'pushed';
    this.push(event);
    return 'queued';
  }

  override async next(): Promise<IteratorResult<Event>> {
    this.waitingNext = true;
    try {
      return await super.next();
    } finally {
      this.waitingNext = false;
    }
  }
}

it('sends a ready, errorless answer from where the event is offered while the consumer waits; one with errors goes through next()', async () => {
  const source = new PushSource();
  const schema = schemaFor([source]);
  const frames: string[] = [];
  const query = 'subscription($broken: Boolean!) { events { name broken @include(if: $broken) } }';
  const stream = await subscribed(createSharedSubscribe(), schema, query, { broken: false }, { [SEND_SERIALISED]: (json: string) => void frames.push(json) });
  const pending = stream.next();
  await turn();

  expect(source.offer({ name: 'PUSHED', version: 1 })).toBe('pushed');
  expect(frames).toEqual([JSON.stringify({ data: { events: { name: 'PUSHED' } } })]); // synchronously, no promise in between

  await stream.return!();
  expect(await pending).toEqual({ value: undefined, done: true });

  const failing = new PushSource();
  const withErrors = await subscribed(createSharedSubscribe(), schemaFor([failing]), query, { broken: true }, { [SEND_SERIALISED]: (json: string) => void frames.push(json) });
  const next = withErrors.next();
  await turn();
  expect(failing.offer({ name: 'BROKEN', version: 1 })).toBe('queued');
  expect(((await next).value as ExecutionResult).errors?.map((e) => e.message)).toEqual(['this field fails']);
  expect(frames).toHaveLength(1);
});

it('the app schema executes a SecretEvent synchronously (so it can be pushed)', async () => {
  const { buildAppSchema } = await import('../../src/graphql/schema');
  const { execute } = await import('graphql');
  const schema = buildAppSchema();
  const event = {
    cursor: 'c1', topic: 'secret:updated', action: 'SECRET_WRITTEN', at: new Date('2026-12-02T00:00:00Z'), tokenId: null, environmentId: 'e1',
    spaceId: null, actorId: null, secretId: 's1', name: 'API_KEY', version: 4, affectedSpaceIds: [],
  };
  const result = execute({ schema, document: parse('subscription($s: ID) { secretEvents(spaceId: $s) { name version at affectedSpaceIds } }'), rootValue: event, variableValues: {} });
  expect(typeof (result as Promise<unknown>).then).toBe('undefined');
  expect(result).toEqual({ data: { secretEvents: { name: 'API_KEY', version: 4, at: new Date('2026-12-02T00:00:00Z'), affectedSpaceIds: [] } } });
});
