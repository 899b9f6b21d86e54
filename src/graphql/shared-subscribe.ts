import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';

/*
 * graphql-js's subscribe() executes the operation's selection once per
 * event per subscriber: with a thousand subscribers on one environment, a
 * write is executed a thousand times into the same answer. This subscribe
 * runs the source stream (the root field's subscribe, where access and
 * arguments are checked) per subscriber as graphql-js does, but executes
 * each event once per operation shape — the query text, operation name and
 * variables — and hands every subscriber of that shape the same result.
 *
 * Sound because an event's answer depends on nothing else: the fields of a
 * subscription payload resolve from the event alone (SecretEvent's are
 * plain properties; capabilities are checked before execution by the
 * operation guard, and visibility before the event is offered). A source
 * stream that yields a fresh object per subscriber simply shares nothing.
 *
 * graphql-ws would then still serialise the shared answer once per
 * subscriber. A transport that puts a SEND_SERIALISED function in the
 * context gets each errorless answer as JSON instead, serialised once, to
 * frame and send itself (graphql/subscriptions.ts); answers with errors
 * still go back through graphql-ws and its hooks.
 *
 * A source stream that is Pushable (LiveSubscription) is also offered a
 * push function: while its consumer is idle, an event whose answer is
 * ready and errorless is sent at once from where it was produced, without
 * the promise chain of next(); anything else (an answer still executing,
 * one with errors, a socket waiting to drain) it queues for next() as
 * before, so the order is the stream's either way.
 */

/** A source stream that can hand events to a synchronous consumer while its own consumer waits. */
export interface Pushable<T> {
  /** `push` returns whether it took the value; one it did not take is queued for next(). */
  pushTo(push: (value: T) => boolean): void;
}

/**
 * Sends a `next` message whose payload is this JSON; a promise: wait for it
 * before the next one. `answer` is the one result object every subscriber
 * of the shape gets (the same `payloadJson` string with it), for a
 * transport that keeps what it built from that JSON.
 */
export type SendSerialised = (payloadJson: string, answer: ExecutionResult) => Promise<void> | undefined;

/** The context key of a SendSerialised. */
export const SEND_SERIALISED = Symbol('send a serialised next payload');

type Shared = ExecutionResult | Promise<ExecutionResult>;

/** A subscribe for graphql-ws's makeServer({ subscribe }), with its own cache of executed events. */
export function createSharedSubscribe(): (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  /* Per event object, per shape: entries go with the event once no subscriber holds it. */
  const executed = new WeakMap<object, Map<string, Shared>>();
  const serialised = new WeakMap<ExecutionResult, string>();
  const jsonOf = (result: ExecutionResult) => {
    let json = serialised.get(result);
    if (json === undefined) serialised.set(result, (json = JSON.stringify(result)));
    return json;
  };

  return async function subscribe(args) {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream; // the errors of a refused subscription
    const shape = shapeOf(args);
    const send = (args.contextValue as { [SEND_SERIALISED]?: SendSerialised } | undefined)?.[SEND_SERIALISED];
    const map = (event: unknown): Shared => {
      if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
      let byShape = executed.get(event);
      if (!byShape) executed.set(event, (byShape = new Map()));
      let result = byShape.get(shape);
      if (!result) {
        result = execute({ ...args, rootValue: event });
        byShape.set(shape, result);
        /* Later subscribers of the shape get the settled answer itself, which they can push. */
        if (isPromise(result)) result.then((settled) => byShape.set(shape, settled), () => undefined);
      }
      return result;
    };
    /* What the transport sends itself, by next() or by push: an errorless answer, serialised once. */
    const direct = send && { takes: (result: ExecutionResult) => !result.errors, send: (result: ExecutionResult) => send(jsonOf(result), result) };
    if (direct && isPushable(stream)) {
      let draining = false;
      stream.pushTo((event) => {
        if (draining) return false;
        const result = map(event);
        if (isPromise(result) || !direct.takes(result)) return false;
        const drained = direct.send(result);
        if (drained) {
          draining = true;
          void drained.then(() => (draining = false));
        }
        return true;
      });
    }
    return mapAsyncIterator(stream, map, direct);
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

function isPushable(value: object): value is Pushable<unknown> {
  return typeof (value as Partial<Pushable<unknown>>).pushTo === 'function';
}

/** What an execution's answer depends on besides the event. */
function shapeOf(args: ExecutionArgs): string {
  const source = args.document.loc?.source.body;
  /* Without the source text (a document built by hand) the document object itself stands for it. */
  const text = source ?? documentKey(args.document);
  return `${text}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
}

const documentKeys = new WeakMap<object, string>();
let documents = 0;
function documentKey(document: object): string {
  let key = documentKeys.get(document);
  if (!key) documentKeys.set(document, (key = `\u0001document ${++documents}`));
  return key;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * graphql-js's mapAsyncIterator: return() and throw() go straight to the
 * source (an async generator would queue them behind a pending next(),
 * leaving an idle subscription open after its client completed it). A
 * mapped value that `direct` takes is sent, not yielded: next() goes on to
 * the following event.
 */
function mapAsyncIterator<T>(
  iterable: AsyncIterable<unknown>,
  map: (value: unknown) => T | Promise<T>,
  direct?: { takes(value: T): boolean; send(value: T): Promise<void> | undefined },
): AsyncIterableIterator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const mapResult = async (result: IteratorResult<unknown>): Promise<IteratorResult<T>> => {
    if (result.done) return result as IteratorReturnResult<undefined>;
    try {
      return { value: await map(result.value), done: false };
    } catch (error) {
      await iterator.return?.().catch(() => undefined);
      throw error;
    }
  };
  const generator: Required<AsyncIterableIterator<T>> = {
    async next() {
      for (;;) {
        const result = await mapResult(await iterator.next());
        if (result.done || !direct?.takes(result.value)) return result;
        await direct.send(result.value);
      }
    },
    async return() {
      return iterator.return ? mapResult(await iterator.return()) : { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      if (iterator.throw) return mapResult(await iterator.throw(error));
      throw error;
    },
    [Symbol.asyncIterator]() {
      return generator;
    },
  };
  return generator;
}
