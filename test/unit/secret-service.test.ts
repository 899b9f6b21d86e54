import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { TokenRole, type Secret } from '../../src/entities';
import { AccessPolicy } from '../../src/modules/access/access-policy';
import { SecretService } from '../../src/modules/secret/secret.service';

/*
 * The logic a database hides: the write loop's retries and the placement
 * checks, with fakes narrowed to what SecretService uses. The integration
 * suites prove the same end to end; these pin each branch down.
 */

const ENV = randomUUID();
const OTHER_ENV = randomUUID();
const SPACE = randomUUID();

interface PlacementRowFake {
  environment_id: string;
  space_id: string | null;
  current_key_version: number;
}

/** A prepared-statement runner answering the placement lookup from `placements`, and recording every statement. */
function fakePrepared(placements: () => PlacementRowFake[]) {
  const statements: string[] = [];
  const query = async (sql: string) => {
    statements.push(sql);
    if (sql.includes('FOR UPDATE')) return []; // no existing row: a first write
    if (sql.startsWith('INSERT INTO secret')) {
      return [{ id: randomUUID(), environment_id: ENV, space_id: null, name: 'N', version: 1, key_version: 1, wrapped_dek: Buffer.alloc(0), ciphertext: Buffer.alloc(0), created_at: new Date(), updated_at: new Date() }];
    }
    return placements();
  };
  return { statements, prepared: { query, in: () => ({ query }) } };
}

const pgError = (code: string, constraint?: string) => Object.assign(new Error(`pg ${code}`), { code, constraint });

function service(options: { placements?: () => PlacementRowFake[]; transactionFailures?: Error[] } = {}) {
  const failures = [...(options.transactionFailures ?? [])];
  let transactions = 0;
  const db = {
    transaction: async (work: (manager: unknown) => Promise<unknown>) => {
      transactions += 1;
      const failure = failures.shift();
      if (failure) throw failure;
      return work({});
    },
  } as unknown as DataSource;
  const keyVersions: number[] = [];
  const keyring = {
    key: async (_environmentId: string, version: number) => {
      keyVersions.push(version);
      return Buffer.alloc(32, version);
    },
    open: async () => 'v',
    openCached: () => 'v',
  };
  const audit = { append: async () => undefined };
  const { statements, prepared } = fakePrepared(options.placements ?? (() => [{ environment_id: ENV, space_id: null, current_key_version: 1 }]));
  return {
    secrets: new SecretService(db, keyring, audit, prepared as never),
    statements,
    keyVersions,
    transactions: () => transactions,
  };
}

const upsert = { environmentId: ENV, name: 'N', value: 'v' };

describe('the write loop', () => {
  it('runs a transaction again after a serialization failure or a deadlock', async () => {
    const s = service({ transactionFailures: [pgError('40001'), pgError('40P01')] });
    await expect(s.secrets.upsert(AccessPolicy.system, upsert)).resolves.toMatchObject({ version: 1 });
    expect(s.transactions()).toBe(3);
  });

  it('takes the new key version when a rotation retired the one it read', async () => {
    let version = 1;
    const s = service({
      placements: () => [{ environment_id: ENV, space_id: null, current_key_version: version++ }],
      transactionFailures: [pgError('23503', 'secret_key_version_fkey')],
    });
    await s.secrets.upsert(AccessPolicy.system, upsert);
    expect(s.keyVersions).toEqual([1, 2]);
  });

  it('gives up after a bounded number of attempts', async () => {
    const s = service({ transactionFailures: Array.from({ length: 20 }, () => pgError('40001')) });
    await expect(s.secrets.upsert(AccessPolicy.system, upsert)).rejects.toMatchObject({ code: '40001' });
    expect(s.transactions()).toBe(8);
  });

  it('does not retry any other failure', async () => {
    const s = service({ transactionFailures: [pgError('23505', 'secret_environment_name_key'), pgError('40001')] });
    await expect(s.secrets.upsert(AccessPolicy.system, upsert)).rejects.toMatchObject({ code: '23505' });
    expect(s.transactions()).toBe(1);
  });
});

describe('placement checks', () => {
  const listener = (environmentId: string, spaceId: string | null = null) =>
    new AccessPolicy({ tokenId: randomUUID(), role: TokenRole.LISTENER, environmentId, spaceId });
  const admin = new AccessPolicy({ tokenId: randomUUID(), role: TokenRole.ADMIN, environmentId: null, spaceId: null });

  it('a listener asking outside its environment is FORBIDDEN before any statement', async () => {
    const s = service();
    await expect(s.secrets.resolve(listener(ENV), 'N', { environmentId: OTHER_ENV })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(s.statements).toEqual([]);
  });

  it('a space-bound listener asking for another space is FORBIDDEN before any statement', async () => {
    const s = service();
    await expect(s.secrets.effectiveIn(listener(ENV, SPACE), { spaceId: randomUUID() })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(s.statements).toEqual([]);
  });

  it('ids that match nothing are NOT_FOUND for ADMIN and FORBIDDEN for a listener (nothing confirmed)', async () => {
    const s = service({ placements: () => [] });
    await expect(s.secrets.effectiveIn(admin, { spaceId: SPACE })).rejects.toMatchObject({ code: 'NOT_FOUND', details: { field: 'spaceId' } });
    await expect(s.secrets.effectiveIn(admin, { environmentId: ENV })).rejects.toMatchObject({ code: 'NOT_FOUND', details: { field: 'environmentId' } });
    await expect(s.secrets.effectiveIn(listener(ENV), { spaceId: SPACE })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a space of another environment is BAD_USER_INPUT on spaceId', async () => {
    const s = service({ placements: () => [{ environment_id: OTHER_ENV, space_id: SPACE, current_key_version: 1 }] });
    await expect(s.secrets.effectiveIn(admin, { environmentId: ENV, spaceId: SPACE })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'spaceId' },
    });
  });

  it('a listener reads a value only inside its binding', () => {
    const s = service();
    const reads = { once: (_secret: Secret, decrypt: () => string | Promise<string>) => decrypt() };
    const secret = { id: randomUUID(), environmentId: OTHER_ENV, spaceId: null, name: 'N', version: 1 } as Secret;
    expect(() => s.secrets.reveal({ access: listener(ENV), reads }, secret)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(s.secrets.reveal({ access: listener(OTHER_ENV), reads }, secret)).toBe('v');
  });
});
