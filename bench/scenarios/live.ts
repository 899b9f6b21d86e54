import { createSecretsClient } from '../../src/client';
import { log } from '../log';
import type { Scenario } from './scenario';

/*
 * Scenario 9: the listener client in live mode (DESIGN §12) against the
 * in-process server: the 50 names of the read scope, read until a whole pass
 * is answered from the live cache (its subscription accepted), then 10,000
 * `secrets()` calls cycling over them. The row reports how many of those
 * reached the network, counted by the fetch the client is given: a count,
 * not a timing.
 */

const ID = 'live-client-requests';
const CALLS = 10_000;
const WARM_TIMEOUT_MS = 15_000;

export const live: Scenario = {
  name: 'live',
  phase: 'serving',
  async prepare(session) {
    const scope = await session.readScope();
    return async () => {
      const counter = { requests: 0 };
      const client = createSecretsClient({
        url: session.live.server.url,
        token: scope.token,
        spaceId: scope.spaceId,
        live: true,
        fetch: (input, init) => {
          counter.requests += 1;
          return fetch(input, init);
        },
      });
      const names = [...scope.expected.keys()];
      let wrong = 0;
      const pass = async (calls: number) => {
        for (let i = 0; i < calls; i++) {
          const name = names[i % names.length];
          if ((await client.secrets(name)) !== scope.expected.get(name)) wrong++;
        }
      };
      try {
        const deadline = Date.now() + WARM_TIMEOUT_MS;
        let warm = false;
        while (!warm && Date.now() < deadline) {
          const before = counter.requests;
          await pass(names.length);
          warm = counter.requests === before;
          if (!warm) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const warmUpRequests = counter.requests;
        wrong = 0;
        const started = performance.now();
        await pass(CALLS);
        const ms = performance.now() - started;
        const requests = counter.requests - warmUpRequests;
        log(`${ID}: ${requests} network requests for ${CALLS} calls (warm: ${warm}, ${warmUpRequests} requests to warm up)`);
        session.results.push({
          id: ID,
          scenario: 9,
          label: `live client: ${CALLS.toLocaleString('en-US')} secrets() calls on a warm live cache: network requests`,
          requests: CALLS,
          errors: wrong + (warm ? 0 : 1),
          peakRssMb: Number.NaN,
          notes: `${requests} network requests for ${CALLS} calls over ${names.length} names (${ms.toFixed(0)} ms in all); ${warmUpRequests} to warm up${warm ? '' : '; the cache never became warm'}${wrong ? `; ${wrong} wrong answers` : ''}`,
          extra: { networkRequests: requests, warmUpRequests, warm, liveState: client.liveState() },
        });
      } finally {
        await client.close();
      }
    };
  },
};
