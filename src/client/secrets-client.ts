import { SecretNotFoundError, SecretsRequestError } from './errors';
import { EffectiveSecretsDocument, SecretValueDocument, type EffectiveSecretsQuery } from './generated/graphql';
import { LiveFeed, type LiveOptions, type LiveState, type ViewScope } from './live-feed';
import { RequestCache, type CacheTags } from './request-cache';
import { execute, type TransportOptions } from './transport';

/** One entry of a scope's effective list, with where its value comes from. */
export type EffectiveSecret = EffectiveSecretsQuery['effectiveSecrets'][number];
export type { SecretScope } from './generated/graphql';

/**
 * Where to resolve. Each field falls back to the client's own on its own, as
 * in Flatfile's `event.secrets(name, { environmentId, spaceId, actorId })`;
 * pass `spaceId: null` to read the environment's value from a client whose
 * context names a space. With neither id, a LISTENER token's binding
 * applies. With an `actorId`, that actor's personal values come first.
 */
export interface ScopeOptions {
  readonly environmentId?: string | null;
  readonly spaceId?: string | null;
  readonly actorId?: string | null;
}

/** One name: a scope, and optionally a retained version of the supplying secret. */
export interface SecretOptions extends ScopeOptions {
  readonly version?: number;
}

export interface SecretsClientOptions extends ScopeOptions {
  /** The server (`https://host:4000`) or its GraphQL endpoint (`…/graphql`). */
  readonly url: string;
  /** A LISTENER token: only those may read values. */
  readonly token: string;
  /** Keep answers this long (ms). Default 0: every call asks the server, but concurrent identical calls share one request. */
  readonly cacheTtlMs?: number;
  /**
   * Live mode: subscribe to `secretEvents` for every view read from, and keep
   * answers until an event says their name changed (the TTL applies while the
   * socket is down). `true` for the defaults. Default false.
   */
  readonly live?: boolean | LiveOptions;
  /** Bounds each call, its one retry included. Default 10000. */
  readonly timeoutMs?: number;
  /** Default: the global fetch (Node 18+). */
  readonly fetch?: typeof fetch;
}

export interface SecretsClient {
  /** The value `name` resolves to; throws SecretNotFoundError when it resolves to nothing. */
  secrets(name: string, options?: SecretOptions): Promise<string>;
  /** The scope's whole effective list, sorted by name, with provenance. */
  effectiveSecrets(options?: ScopeOptions): Promise<EffectiveSecret[]>;
  /** Forgets every cached answer, e.g. after rotating a secret. */
  clearCache(): void;
  /** 'off' without live mode; otherwise where its socket stands ('closed': ended by close() or a final close code). */
  liveState(): LiveState | 'off';
  /** Ends live mode and resolves once its socket is closed; reads go on, by the TTL. Without live mode, does nothing. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A client for listeners. It caches per name, not per list: a listener that
 * reads one secret decrypts (and is audited for) that one only.
 */
export function createSecretsClient(options: SecretsClientOptions): SecretsClient {
  const transport = transportOptions(options);
  const context: ScopeOptions = { environmentId: options.environmentId, spaceId: options.spaceId, actorId: options.actorId };
  const ttlMs = options.cacheTtlMs ?? 0;
  const values = new RequestCache<string>(ttlMs);
  const lists = new RequestCache<EffectiveSecret[]>(ttlMs);
  const live = options.live ? liveFeed(options.live === true ? {} : options.live, transport, [values, lists]) : undefined;

  /* Cache groups: a view's every answer, a name's answers in a view, a view's lists (a name never holds a control character). */
  const tags = (scope: ViewScope, viewKey: string, name: string | null): CacheTags | undefined => {
    const view = live?.watch(viewKey, scope);
    if (!view) return undefined;
    return { groups: [viewKey, name === null ? listGroup(viewKey) : nameGroup(viewKey, name)], lease: () => live!.lease(view) };
  };

  return {
    secrets(name, secretOptions) {
      const scope = resolveScope(context, secretOptions);
      const version = secretOptions?.version ?? null;
      const viewKey = viewKeyOf(scope);
      return values.get(
        JSON.stringify([scope.environmentId, scope.spaceId, scope.actorId, name, version]),
        async () => {
          try {
            const data = await execute(transport, SecretValueDocument, { name, ...scope, version });
            return data.secret.value;
          } catch (error) {
            if (error instanceof SecretsRequestError && error.code === 'SECRET_NOT_FOUND') {
              throw new SecretNotFoundError(name, scope);
            }
            throw error;
          }
        },
        tags(scope, viewKey, name),
      );
    },

    effectiveSecrets(scopeOptions) {
      const scope = resolveScope(context, scopeOptions);
      const viewKey = viewKeyOf(scope);
      return lists
        .get(
          viewKey,
          async () => {
            const data = await execute(transport, EffectiveSecretsDocument, scope);
            return data.effectiveSecrets;
          },
          tags(scope, viewKey, null),
        )
        .then(copyList);
    },

    clearCache() {
      values.clear();
      lists.clear();
    },

    liveState() {
      return live ? live.state : 'off';
    },

    close() {
      return live ? live.close() : Promise.resolve();
    },
  };
}

/** The live feed, wired to drop what the caches hold for a name (or a whole view) when the feed says so. */
function liveFeed(liveOptions: LiveOptions, transport: TransportOptions, caches: RequestCache<unknown>[]): LiveFeed {
  return new LiveFeed({
    ...liveOptions,
    endpoint: transport.endpoint,
    token: transport.token,
    handshakeTimeoutMs: transport.timeoutMs,
    onChange: (viewKey, name) => {
      for (const cache of caches) cache.drop([nameGroup(viewKey, name), listGroup(viewKey)]);
    },
    onReset: (viewKey) => {
      for (const cache of caches) cache.drop([viewKey]);
    },
  });
}

const viewKeyOf = (scope: ViewScope) => JSON.stringify([scope.environmentId, scope.spaceId, scope.actorId]);
const nameGroup = (viewKey: string, name: string) => `${viewKey}\u0000${name}`;
const listGroup = (viewKey: string) => `${viewKey}\u0001`;

function resolveScope(context: ScopeOptions, options: ScopeOptions = {}) {
  return {
    environmentId: (options.environmentId === undefined ? context.environmentId : options.environmentId) ?? null,
    spaceId: (options.spaceId === undefined ? context.spaceId : options.spaceId) ?? null,
    actorId: (options.actorId === undefined ? context.actorId : options.actorId) ?? null,
  };
}

/* Callers get their own copies, so one caller mutating a list cannot change what the cache gives the next. */
function copyList(list: EffectiveSecret[]): EffectiveSecret[] {
  return list.map((entry) => ({
    ...entry,
    secret: { ...entry.secret },
    overrides: entry.overrides && { ...entry.overrides },
  }));
}

function transportOptions(options: SecretsClientOptions): TransportOptions {
  if (!options.url) throw new TypeError('createSecretsClient: url is required');
  if (!options.token) throw new TypeError('createSecretsClient: token is required');
  // Checked here because fetch's own "invalid header value" error would quote the token.
  if (!/^[\x21-\x7e]+$/.test(options.token)) throw new TypeError('createSecretsClient: token must be printable ASCII without spaces');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('createSecretsClient: no fetch available (Node 18+ has one)');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new TypeError('createSecretsClient: timeoutMs must be positive');
  return {
    endpoint: graphqlEndpoint(options.url),
    token: options.token,
    timeoutMs,
    // Called as a plain function: browsers' fetch throws when called as another object's method.
    fetch: (input, init) => fetchImpl(input, init),
  };
}

/* A base URL gets /graphql appended (keeping any path prefix a proxy adds); an endpoint URL is used as is. */
function graphqlEndpoint(url: string): string {
  const parsed = new URL(url);
  if (!/\/graphql\/?$/.test(parsed.pathname)) parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/graphql`;
  return parsed.toString();
}
