import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

import fastifyCookie from '@fastify/cookie';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { FastifyInstance } from 'fastify';
import {
  GraphQLError,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, MessageType, handleProtocols, makeServer, type Context } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';

import type { Config } from '../config';
import type { EventSystem } from '../events/event-system';
import { ErrorCode, isAppError } from '../errors';
import { credentialsOf } from '../http/request-lifecycle';
import type { Logger } from '../logger';
import type { Principal } from '../modules/access/access-policy';
import type { LiveOperations, SubscriptionContext } from '../modules/events/secret-event.resolver';
import type { Credentials } from '../modules/request/request-context';
import type { RequestContexts } from '../modules/request/request-contexts';
import { toAppError } from '../db/pg-errors';
import { GRAPHQL_MAX_TOKENS, graphqlLimits } from './apollo';
import { createErrorFormatter } from './errors';
import { guardOperation } from './operation-guard';
import { createSharedSubscribe, SEND_SERIALISED, type SendSerialised } from './shared-subscribe';
import { textFrame } from './text-frame';

/*
 * GraphQL subscriptions over WebSocket (graphql-ws, subprotocol
 * graphql-transport-ws) on the HTTP server's own port and path, /graphql.
 * Every operation goes through the one request lifecycle: the connection
 * authenticates with RequestContexts.open (a bearer token in
 * connectionParams.authorization, or the admin UI's session cookie on the
 * upgrade request, whose Origin must be ours), and so does every
 * subscribe, so a token revoked since the connection opened cannot start
 * one. Operations pass graphql-armor's validation rules and the operation
 * guard (cost, capabilities) like HTTP ones, and their errors go through
 * the same formatter. Only subscriptions run here: queries and mutations
 * belong to POST /graphql, whose lifecycle flushes their read audit.
 */

/** Close codes beside graphql-ws's own: clients retry these. */
const TRY_AGAIN_LATER = 1013;
const GOING_AWAY = 1001;
/* A subscribe message is a small document; armor and the token limit bound its shape, this its size. */
const MAX_MESSAGE_BYTES = 64 * 1024;

interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  credentials?: Credentials;
  principal?: Principal;
  unregister?: () => void;
  /** The socket has closed (onClose ran): nothing may be registered for it any more. */
  closed?: boolean;
}

interface Deps {
  readonly config: Pick<Config, 'production' | 'events'>;
  readonly logger: Logger;
  readonly schema: GraphQLSchema;
  readonly requests: RequestContexts;
  readonly events: Pick<EventSystem, 'service' | 'connections'>;
}

export function registerSubscriptions(app: FastifyInstance, deps: Deps): void {
  const { config, logger, schema, requests, events } = deps;
  const formatError = createErrorFormatter(logger);
  const rules = [...specifiedRules, ...new ApolloArmor(graphqlLimits(config.production)).protect().validationRules];
  const perToken = new Map<string, number>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, handleProtocols, perMessageDeflate: false }); // frames go out as written (transmitNext)
  let closing = false;

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    subscribe: createSharedSubscribe(),
    async onConnect(ctx) {
      const { socket, request } = ctx.extra;
      const credentials = credentialsOfUpgrade(request, ctx.connectionParams);
      let principal: Principal;
      try {
        const context = await requests.open(credentials);
        requests.release(context); // a connection is not a request in flight; each subscribe opens its own
        principal = context.access.principal;
      } catch (error) {
        refuse(socket, error);
        return false;
      }
      /* The peer left while it was being authenticated: onClose has run already and would never undo a registration. */
      if (ctx.extra.closed) return false;
      const key = principal.tokenId ?? '';
      const held = perToken.get(key) ?? 0;
      if (held >= config.events.maxSubscriptionsPerToken) {
        socket.close(TRY_AGAIN_LATER, 'too many connections for this token');
        return false;
      }
      perToken.set(key, held + 1);
      ctx.extra.credentials = credentials;
      ctx.extra.principal = principal;
      const removeConnection = events.connections.add(principal, (code, reason) => socket.close(code, reason));
      ctx.extra.unregister = () => {
        removeConnection();
        const n = (perToken.get(key) ?? 1) - 1;
        if (n <= 0) perToken.delete(key);
        else perToken.set(key, n);
      };
      return true;
    },

    async onSubscribe(ctx, id, payload) {
      const { socket, credentials } = ctx.extra;
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: GRAPHQL_MAX_TOKENS });
      } catch (error) {
        return [asGraphQLError(error, ErrorCode.BAD_USER_INPUT)];
      }
      const invalid = validate(schema, document, rules);
      if (invalid.length) return invalid;
      const operation = getOperationAST(document, payload.operationName);
      if (!operation) return [new GraphQLError('Unable to identify operation', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })];
      if (operation.operation !== 'subscription') {
        return [
          new GraphQLError('only subscriptions are served over WebSocket; send queries and mutations to POST /graphql', {
            extensions: { code: ErrorCode.BAD_USER_INPUT },
          }),
        ];
      }
      let context;
      try {
        context = await requests.open(credentials!);
      } catch (error) {
        refuse(socket, error); // revoked or expired since the connection opened
        return [asGraphQLError(error)];
      }
      try {
        guardOperation({ context, schema, document, operation, operationName: payload.operationName, variables: payload.variables });
      } catch (error) {
        requests.release(context);
        return [asGraphQLError(error)];
      }
      const live: LiveOperations = {
        secretEvents: (access, args) =>
          events.service.subscribe(access, args, {
            onOverflow: () => socket.close(TRY_AGAIN_LATER, 'slow consumer: events were not read fast enough'),
            onQueued: () => void withinUnsentBound(socket, ctx.extra.request),
          }),
      };
      /* An errorless event's answer arrives serialised once for all its subscribers (graphql/shared-subscribe.ts): framed here as graphql-ws would. */
      const start = Buffer.from(`{"id":${JSON.stringify(id)},`);
      const contextValue: SubscriptionContext & { [SEND_SERIALISED]: SendSerialised } = {
        ...context,
        live,
        [SEND_SERIALISED]: (json, answer) => transmitNext(socket, ctx.extra.request, start, nextBodyOf(json, answer)),
      };
      return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue } satisfies ExecutionArgs;
    },

    async onOperation(_ctx, _id, _payload, args) {
      /* The subscription is set up (or refused): its request phase is over. A SecretEvent holds no value, so nothing awaits audit. */
      const context = args.contextValue as SubscriptionContext;
      try {
        await requests.finish(context);
      } finally {
        requests.release(context);
      }
    },

    onNext(_ctx, _id, _payload, _args, result) {
      if (!result.errors?.length) return;
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
    },

    onError(_ctx, _id, _payload, errors) {
      return errors.map((e) => formatError(e.toJSON(), e));
    },

    onClose(ctx) {
      ctx.extra.closed = true;
      ctx.extra.unregister?.();
    },
  });

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => transmit(socket, request, data),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error }, 'subscription message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    const stopHeartbeat = heartbeat(socket, config.events.heartbeatMs);
    socket.on('error', () => socket.terminate());
    socket.once('close', (code, reason) => {
      stopHeartbeat();
      void closed(code, String(reason));
    });
  });

  /*
   * A turn of the event loop's frames for one connection go out in one
   * write: the TCP socket is corked until setImmediate, and a send is not
   * awaited while the socket takes data, so a subscriber's pending events
   * all go in that turn. Once the socket holds more than its high-water
   * mark, sends wait for it to drain, so a consumer that stops reading
   * leaves its events queued in its subscription (bounded by
   * EVENTS_MAX_QUEUE); what the socket holds unsent from earlier turns is
   * bounded by EVENTS_MAX_BUFFERED_BYTES (withinUnsentBound). A write error
   * closes the socket ('error' above).
   */
  const corked = new WeakSet<IncomingMessage['socket']>();
  const drained = new WeakMap<IncomingMessage['socket'], Promise<void>>();
  function transmit(socket: WebSocket, request: IncomingMessage, data: string): Promise<void> | undefined {
    const tcp = writable(socket, request);
    if (!tcp) return;
    socket.send(data);
    return drainOf(tcp);
  }

  /*
   * A `next` message of an answer shared by many subscribers: its bytes
   * after the id (`"type":"next","payload":…}`) are encoded once per answer,
   * and each subscriber's frame is its id's bytes and those, written to the
   * socket in one piece. It goes to the connection's socket directly, in
   * the same synchronous order as ws's own frames (the server has neither
   * compression nor queued sends, so ws writes every frame at once).
   */
  const nextBodies = new WeakMap<object, Buffer>();
  function nextBodyOf(json: string, answer: object): Buffer {
    let body = nextBodies.get(answer);
    if (!body) nextBodies.set(answer, (body = Buffer.from(`"type":"${MessageType.Next}","payload":${json}}`)));
    return body;
  }
  function transmitNext(socket: WebSocket, request: IncomingMessage, start: Buffer, body: Buffer): Promise<void> | undefined {
    const tcp = writable(socket, request);
    if (!tcp) return;
    tcp.write(textFrame(start, body));
    return drainOf(tcp);
  }

  /** The connection's socket, corked for this turn, or undefined when nothing may be sent on it. */
  function writable(socket: WebSocket, request: IncomingMessage): IncomingMessage['socket'] | undefined {
    if (!withinUnsentBound(socket, request)) return;
    const tcp = request.socket; // the upgraded connection, ws's own
    if (!corked.has(tcp)) {
      corked.add(tcp);
      tcp.cork();
      setImmediate(() => {
        corked.delete(tcp);
        tcp.uncork();
      });
    }
    return tcp;
  }

  /*
   * What the connection holds unsent from earlier turns (this turn's corked
   * frames do not count) against EVENTS_MAX_BUFFERED_BYTES: past it the
   * consumer is closed. Checked as a turn begins and whenever an event has
   * to wait in a subscription: a consumer that stopped reading makes every
   * subscription wait for the drain, so no turn begins, but events keep
   * being queued.
   */
  function withinUnsentBound(socket: WebSocket, request: IncomingMessage): boolean {
    if (socket.readyState !== socket.OPEN) return false;
    if (corked.has(request.socket)) return true; // checked when this turn began
    if (socket.bufferedAmount <= config.events.maxBufferedBytes) return true;
    socket.close(TRY_AGAIN_LATER, 'slow consumer: too much unsent data');
    return false;
  }

  function drainOf(tcp: IncomingMessage['socket']): Promise<void> | undefined {
    if (!tcp.writableNeedDrain) return;
    let drain = drained.get(tcp);
    if (!drain) {
      drain = new Promise<void>((resolve) => {
        const done = () => {
          drained.delete(tcp);
          tcp.off('drain', done).off('close', done);
          resolve();
        };
        tcp.on('drain', done).on('close', done);
      });
      drained.set(tcp, drain);
    }
    return drain;
  }

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') return void socket.destroy();
    if (closing || wss.clients.size >= config.events.maxSubscriptions) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of wss.clients) socket.close(GOING_AWAY, 'server shutting down');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}

/** The upgrade request's credentials, as the HTTP lifecycle reads them, with the token of connectionParams first. */
function credentialsOfUpgrade(request: IncomingMessage, params: Context['connectionParams']): Credentials {
  const fromRequest = credentialsOf({
    protocol: (request.socket as TLSSocket).encrypted ? 'https' : 'http',
    headers: { host: request.headers.host, origin: request.headers.origin, authorization: request.headers.authorization },
    cookies: request.headers.cookie ? fastifyCookie.parse(request.headers.cookie) : {},
  });
  const authorization = typeof params?.authorization === 'string' ? params.authorization : undefined;
  return authorization === undefined ? fromRequest : { ...fromRequest, authorization };
}

/** A connection that cannot go on: 4403 when its credentials do not hold (final), 1013 when it may retry. */
function refuse(socket: WebSocket, error: unknown): void {
  const known = toAppError(error);
  if (known?.code === ErrorCode.UNAUTHENTICATED || known?.code === ErrorCode.FORBIDDEN) {
    socket.close(CloseCode.Forbidden, known.message.slice(0, 120));
  } else {
    socket.close(TRY_AGAIN_LATER, 'try again later');
  }
}

function asGraphQLError(error: unknown, code?: string): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const known = isAppError(error) ? error : toAppError(error);
  if (known) return new GraphQLError(known.message, { originalError: known });
  return new GraphQLError(code ? (error as Error).message : 'Internal server error', {
    extensions: { code: code ?? ErrorCode.INTERNAL_SERVER_ERROR },
  });
}

/** Pings every interval; a connection that has not answered the previous ping is dropped. */
function heartbeat(socket: WebSocket, intervalMs: number): () => void {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) return void socket.terminate();
    alive = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
