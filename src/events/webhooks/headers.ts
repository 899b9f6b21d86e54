import { SIGNATURE_HEADER, signPayload } from '../../modules/webhook/signature';

/** Names the event, the same on every attempt, so a receiver can drop a delivery it already handled. */
export const EVENT_ID_HEADER = 'Secretspace-Event-Id';

export interface WebhookHeaderInput {
  /** The SecretEvent's cursor. */
  readonly eventId: string;
  readonly signingSecret: string;
  /** The exact JSON text that will be sent. */
  readonly body: string;
  /** Unix seconds of this attempt: a retry is signed afresh, so its age is its own. */
  readonly attemptAt: number;
}

/** The headers that identify and sign one delivery attempt (content type and length are deliverOnce's). */
export function webhookHeaders(input: WebhookHeaderInput): Record<string, string> {
  return {
    [EVENT_ID_HEADER]: input.eventId,
    [SIGNATURE_HEADER]: signPayload(input.signingSecret, input.body, input.attemptAt),
  };
}
