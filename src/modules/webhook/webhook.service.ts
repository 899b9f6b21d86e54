import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { sealValue } from '../../crypto/envelope';
import type { EnvironmentKeyring } from '../../crypto/keyring';
import type { PreparedQueries } from '../../db/statements';
import { AuditAction } from '../../entities';
import { BadUserInputError, NotFoundError } from '../../errors';
import { Capability, type AccessPolicy } from '../access/access-policy';
import type { AuditService } from '../audit/audit.service';
import { findPlacement } from '../secret/secret.repository';
import { check, checkOptional, idSchema } from '../validation';
import { generateSigningSecret } from './signature';
import { signingSecretOwner } from './signing-secret';
import { WebhookUrlError, parseWebhookUrl, resolveAllowedAddress, type HostLookup } from './url-guard';
import { deleteWebhookById, findWebhooks, insertWebhook, toWebhook } from './webhook.repository';
import { WEBHOOK_TOPICS, type CreatedWebhook, type Webhook } from './webhook.types';

export interface WebhookServiceOptions {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: deliver to loopback and private addresses (tests, on-premises receivers). */
  readonly allowPrivateNetworks: boolean;
  /** How host names are resolved for the SSRF check (the system resolver by default). */
  readonly lookup?: HostLookup;
}

export interface CreateWebhookCommand {
  readonly environmentId: unknown;
  readonly spaceId?: unknown;
  readonly url: unknown;
  readonly topics?: unknown;
}

function checkTopics(input: unknown): string[] {
  if (input === undefined || input === null) return [...WEBHOOK_TOPICS];
  if (!Array.isArray(input) || input.length === 0) throw new BadUserInputError('topics', 'topics must be a non-empty list (omit it for every topic)');
  const unknown = input.find((t) => !(WEBHOOK_TOPICS as readonly unknown[]).includes(t));
  if (unknown !== undefined) throw new BadUserInputError('topics', `topics are among ${WEBHOOK_TOPICS.join(', ')}`);
  return [...new Set(input as string[])];
}

/** Webhooks as an admin manages them (DESIGN §13); delivery is events/webhooks/. */
export class WebhookService {
  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'key'>,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly prepared: PreparedQueries,
    private readonly options: WebhookServiceOptions,
  ) {}

  /**
   * Creates a webhook for an environment (or one of its spaces) and returns
   * its signing secret, here and never again. The URL is refused unless it
   * resolves only to allowed addresses (checked again at every attempt).
   */
  async create(caller: AccessPolicy, command: CreateWebhookCommand): Promise<CreatedWebhook> {
    caller.assert(Capability.MANAGE);
    const environmentId = check(idSchema, 'environmentId', command.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', command.spaceId) ?? null;
    if (typeof command.url !== 'string') throw new BadUserInputError('url', 'url must be a string');
    const topics = checkTopics(command.topics);
    let url: URL;
    try {
      url = parseWebhookUrl(command.url);
      await resolveAllowedAddress(url, { allowPrivateNetworks: this.options.allowPrivateNetworks, lookup: this.options.lookup });
    } catch (error) {
      if (error instanceof WebhookUrlError) throw new BadUserInputError('url', error.message);
      throw error;
    }
    const placement = await findPlacement(this.prepared, environmentId, spaceId);
    if (!placement) throw spaceId ? new NotFoundError('space', 'spaceId') : new NotFoundError('environment', 'environmentId');
    if (placement.environment_id !== environmentId) throw new BadUserInputError('spaceId', 'spaceId does not belong to environmentId');

    const id = randomUUID();
    const signingSecret = generateSigningSecret();
    const keyVersion = placement.current_key_version;
    const key = await this.keyring.key(environmentId, keyVersion);
    const sealed = sealValue(signingSecret, signingSecretOwner({ id, environmentId, spaceId }), key, keyVersion);
    const row = await this.db.transaction(async (em) => {
      const inserted = await insertWebhook(em, {
        id,
        environmentId,
        spaceId,
        url: url.toString(),
        topics,
        keyVersion,
        wrappedDek: sealed.wrappedDek,
        sealedSecret: sealed.ciphertext,
      });
      await this.audit.append(
        [{ action: AuditAction.WEBHOOK_CREATED, tokenId: caller.principal.tokenId, environmentId, spaceId, webhookId: id }],
        em,
      );
      return inserted;
    });
    return { webhook: toWebhook(row), signingSecret };
  }

  async delete(caller: AccessPolicy, id: unknown): Promise<Webhook> {
    caller.assert(Capability.MANAGE);
    const webhookId = check(idSchema, 'id', id);
    const gone = await this.db.transaction(async (em) => {
      const row = await deleteWebhookById(em, webhookId);
      if (row) {
        await this.audit.append(
          [{ action: AuditAction.WEBHOOK_DELETED, tokenId: caller.principal.tokenId, environmentId: row.environment_id, spaceId: row.space_id, webhookId }],
          em,
        );
      }
      return row;
    });
    if (!gone) throw new NotFoundError('webhook');
    return toWebhook(gone);
  }

  async list(caller: AccessPolicy, environmentId: unknown): Promise<Webhook[]> {
    caller.assert(Capability.MANAGE);
    const id = checkOptional(idSchema, 'environmentId', environmentId) ?? null;
    return (await findWebhooks(this.prepared, id)).map(toWebhook);
  }
}
