import { randomUUID } from 'node:crypto';

import { TokenRole, type Secret } from '../../src/entities';
import type { AuditRecord } from '../../src/modules/audit/audit-record';
import { RequestContexts } from '../../src/modules/request/request-contexts';

/* The request lifecycle with fakes: bounds on values and on requests in flight, and one audit record per value. */

const LISTENER = { tokenId: randomUUID(), role: TokenRole.LISTENER, environmentId: randomUUID(), spaceId: null };

function contexts(limits = { maxValuesPerRequest: 3, maxConcurrentPerToken: 2 }) {
  const written: AuditRecord[][] = [];
  const requests = new RequestContexts(
    {
      tokens: { authenticate: async () => LISTENER, authenticateToken: async () => LISTENER },
      audit: {
        appendSoon: async (records: readonly AuditRecord[]) => {
          written.push([...records]);
        },
        gatherReadsOf: () => () => undefined,
      },
      loaders: () => ({}) as never,
    },
    limits,
  );
  return { requests, written };
}

const secret = (version = 1) => ({ id: randomUUID(), environmentId: LISTENER.environmentId, spaceId: null, name: 'N', version }) as Secret;

it('decrypts and records each (secret, version) once per request, however often it is selected', async () => {
  const { requests, written } = contexts();
  const context = await requests.open({ authorization: 'Bearer x' });
  const s = secret();
  let decryptions = 0;
  const decrypt = () => `plain-${++decryptions}`;
  expect([context.reads.once(s, decrypt), context.reads.once(s, decrypt), context.reads.once({ ...s } as Secret, decrypt)]).toEqual([
    'plain-1',
    'plain-1',
    'plain-1',
  ]);
  await requests.finish(context);
  expect(decryptions).toBe(1);
  expect(written).toEqual([[expect.objectContaining({ action: 'SECRET_READ', secretId: s.id, secretVersion: 1 })]]);
});

it('withholds the whole answer, with no record, once a request goes over its value bound', async () => {
  const { requests, written } = contexts();
  const context = await requests.open({});
  for (let i = 0; i < 3; i++) context.reads.once(secret(), () => 'v');
  expect(() => context.reads.once(secret(), () => 'v')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  await expect(requests.finish(context)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'value' } });
  expect(written.flat()).toEqual([]);
});

it('a failed decryption is neither remembered nor recorded', async () => {
  const { requests, written } = contexts();
  const context = await requests.open({});
  const s = secret();
  await expect(context.reads.once(s, () => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
  await expect(context.reads.once(s, () => Promise.resolve('v'))).resolves.toBe('v');
  await requests.finish(context);
  expect(written.flat()).toHaveLength(1);
});

it('bounds the requests one token has in flight, and frees the slot on release', async () => {
  const { requests } = contexts();
  const a = await requests.open({});
  await requests.open({});
  await expect(requests.open({})).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  requests.release(a);
  requests.release(a); // idempotent: a second release frees nothing more
  await requests.open({});
  await expect(requests.open({})).rejects.toMatchObject({ code: 'RATE_LIMITED' });
});
