import { TokenRole } from '../../src/entities';
import { AccessPolicy } from '../../src/modules/access/access-policy';
import { AuditRetention } from '../../src/modules/audit/audit-retention';
import { WebhookService } from '../../src/modules/webhook/webhook.service';
import { AuditService } from '../../src/modules/audit/audit.service';
import { EnvironmentService } from '../../src/modules/environment/environment.service';
import { KeyRotationService } from '../../src/modules/keys/key-rotation.service';
import { SecretService } from '../../src/modules/secret/secret.service';
import { SpaceService } from '../../src/modules/space/space.service';
import { TokenService } from '../../src/modules/token/token.service';

/*
 * "Services own their rules": every command of every service takes the
 * caller's AccessPolicy first and asserts before it does any work. Each
 * service is built on tripwires — dependencies that record any use — and
 * every method on its prototype is called without a caller, and as a caller
 * that lacks the capability. A new command that forgets its assertion
 * touches a dependency and fails here. Methods that are not commands are
 * listed, with the reason, below.
 */

const touched: string[] = [];
const tripwire = (name: string): any =>
  new Proxy(function () {}, {
    get: (_target, property) => {
      if (property === 'then') return undefined; // not a thenable
      touched.push(`${name}.${String(property)}`);
      return tripwire(`${name}.${String(property)}`);
    },
    apply: () => {
      touched.push(`${name}()`);
      return tripwire(`${name}()`);
    },
  });

const NOT_COMMANDS: Record<string, Record<string, string>> = {
  SecretService: {
    rewrite: 'private helper of rollback and restore, after their assertions',
    commitVersion: 'private helper of the writes, after their assertions',
    record: 'private helper of the writes, after their assertions',
    withRetries: 'private helper of the writes, after their assertions',
  },
  TokenService: {
    authenticate: 'the door itself: it is what makes a caller out of credentials',
    authenticateToken: 'the door itself, for a session cookie',
    touchSoon: 'private helper of authenticateToken: stamps lastUsedAt of a cached token',
    stampTouches: 'private helper of touchSoon',
    listenerEnvironment: 'private helper of create, after its assertion',
    insert: 'private helper of create and ensureBootstrapToken, after their assertions',
  },
  AuditRetention: {
    locked: 'private helper: runs work under the retention lock, after the caller asserted',
  },
  AuditService: {
    append: 'writes the records of a command that has already asserted, in its transaction',
    appendSoon: 'writes the read records of a request whose reads were each asserted',
    appendReads: 'private helper of appendSoon',
    gatherReadsOf: 'wiring: tells the read group commit how many requests are still answering',
  },
};

const services = {
  SecretService: new SecretService(tripwire('db'), tripwire('keyring'), tripwire('audit'), tripwire('prepared')),
  EnvironmentService: new EnvironmentService(tripwire('db'), tripwire('keyring'), tripwire('audit')),
  SpaceService: new SpaceService(tripwire('db'), tripwire('audit')),
  TokenService: new TokenService(tripwire('db'), tripwire('audit'), tripwire('prepared')),
  AuditService: new AuditService(tripwire('db'), tripwire('prepared')),
  AuditRetention: new AuditRetention(tripwire('db'), tripwire('audit'), 90),
  WebhookService: new WebhookService(tripwire('db'), tripwire('keyring'), tripwire('audit'), tripwire('prepared'), { allowPrivateNetworks: false }),
  KeyRotationService: new KeyRotationService({ db: tripwire('db'), registry: tripwire('registry'), keyring: tripwire('keyring'), audit: tripwire('audit') }),
};

const commands = Object.entries(services).flatMap(([serviceName, service]) =>
  Object.getOwnPropertyNames(Object.getPrototypeOf(service))
    .filter((method) => method !== 'constructor' && !(method in (NOT_COMMANDS[serviceName] ?? {})))
    .map((method) => [`${serviceName}.${method}`, service, method] as const),
);

const listener = new AccessPolicy({
  tokenId: '00000000-0000-4000-8000-000000000001',
  role: TokenRole.LISTENER,
  environmentId: '00000000-0000-4000-8000-000000000002',
  spaceId: null,
});
const admin = new AccessPolicy({ tokenId: '00000000-0000-4000-8000-000000000003', role: TokenRole.ADMIN, environmentId: null, spaceId: null });

/** Calls the method and settles, whether it throws synchronously or rejects. */
async function outcomeOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error;
  }
}

beforeEach(() => {
  touched.length = 0;
});

it('finds the commands of every service', () => {
  expect(commands.length).toBeGreaterThanOrEqual(15);
});

it.each(commands)('%s refuses to run without a caller, before touching anything', async (_name, service, method) => {
  const error = await outcomeOf(() => (service as any)[method](undefined, {}, {}));
  expect(error).toBeInstanceOf(Error);
  expect(touched).toEqual([]);
});

/* What each command needs; anything not listed here is a management command (MANAGE). */
const OPEN_TO_ANY_CALLER = new Set(['SecretService.resolve', 'SecretService.effectiveIn', 'TokenService.viewer']);
const READS_VALUES = new Set(['SecretService.reveal', 'SecretService.revealVersion', 'SecretService.revealEffective']);

it.each(commands)('%s refuses a caller without the capability it needs, before touching anything', async (name, service, method) => {
  if (OPEN_TO_ANY_CALLER.has(name)) return; // metadata reads: any caller, narrowed to its binding by the policy
  /* A value read's caller is the request's reader: its policy and its record of reads. */
  const lacking = READS_VALUES.has(name) ? { access: admin, reads: tripwire('reads') } : listener;
  const error = await outcomeOf(() => (service as any)[method](lacking, {}, {}));
  expect((error as { code?: string }).code).toBe('FORBIDDEN');
  expect(touched).toEqual([]);
});
