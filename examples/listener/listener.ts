import type { FlatfileListener } from '@flatfile/listener';
import { createSecretsClient, SecretNotFoundError } from 'secretspace/client';

/*
 * A listener as a Flatfile agent writes one: a function that registers
 * handlers. It reads secrets two ways:
 *
 * - event.secrets(name): Flatfile's own SDK, unchanged. It calls
 *   `GET {AGENT_INTERNAL_URL}/v1/secrets?environmentId=…&spaceId=…` with
 *   `Authorization: Bearer {FLATFILE_BEARER_TOKEN}`; point those two at
 *   Secretspace and it reads from here.
 * - the bundled client (`secretspace/client`): typed, with provenance,
 *   a cache, and distinct errors for "not found" and "cannot ask".
 *
 * This demo prints values so you can see where they come from. A real
 * listener never logs a value.
 */
const secrets = createSecretsClient({
  url: process.env.SECRETSPACE_URL ?? 'http://127.0.0.1:4000',
  token: process.env.SECRETSPACE_TOKEN ?? '',
  cacheTtlMs: 60_000,
});

export default function listener(flatfile: FlatfileListener): void {
  flatfile.on('job:ready', async (event) => {
    // Flatfile swallows errors thrown by handlers (it logs them): report and flag them here.
    try {
      const { environmentId, spaceId } = event.context as { environmentId: string; spaceId?: string };
      show("event.secrets('SLACK_TOKEN')", await event.secrets('SLACK_TOKEN'));
      show("event.secrets('API_URL')", await event.secrets('API_URL'));

      show("client secrets('SLACK_TOKEN', { spaceId })", await secrets.secrets('SLACK_TOKEN', { environmentId, spaceId }));
      show("client secrets('SLACK_TOKEN', { spaceId: null })", await secrets.secrets('SLACK_TOKEN', { environmentId, spaceId: null }));
      for (const entry of await secrets.effectiveSecrets({ environmentId, spaceId })) {
        const from = entry.overrides ? `${entry.source}, overrides ${entry.overrides.id}` : entry.source;
        show(`client effectiveSecrets() ${entry.name}`, `${entry.value}  (${from}, v${entry.secret.version})`);
      }
      try {
        await secrets.secrets('NOT_CONFIGURED', { environmentId, spaceId });
      } catch (error) {
        if (!(error instanceof SecretNotFoundError)) throw error;
        show("client secrets('NOT_CONFIGURED')", `${error.name} (${error.code})`);
      }
    } catch (error) {
      console.error(`listener failed: ${(error as Error).name}: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  });
}

function show(what: string, result: string): void {
  console.log(`  ${what.padEnd(52)} → ${result}`);
}
