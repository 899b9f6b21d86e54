import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

/** Flatfile's secret topics, which a webhook may narrow to. */
export const WEBHOOK_TOPICS = ['secret:created', 'secret:updated', 'secret:deleted'] as const;

@ObjectType({ description: 'Where change events of an environment (or one space) are POSTed, signed, never with a value.' })
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID, { nullable: true, description: "Set: only changes to this space's effective view." })
  spaceId!: string | null;

  @Field()
  url!: string;

  @Field(() => [String], { description: `Among ${WEBHOOK_TOPICS.join(', ')}.` })
  topics!: string[];

  @Field()
  createdAt!: Date;
}

@ObjectType({ description: 'One attempt to deliver one event.' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'The SecretEvent cursor, also sent as Secretspace-Event-Id.' })
  eventCursor!: string;

  @Field(() => Int, { description: 'Attempts so far for this event, this one included.' })
  attempt!: number;

  @Field(() => Int, { nullable: true, description: 'The HTTP status the receiver answered, if it answered.' })
  status!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the attempt failed (value-free); null when delivered.' })
  error!: string | null;

  @Field()
  at!: Date;

  @Field(() => Date, { nullable: true })
  deliveredAt!: Date | null;
}

@InputType()
export class CreateWebhookInput {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID, { nullable: true, description: "Only changes to this space's effective view." })
  spaceId?: string | null;

  @Field({ description: 'http or https; private, loopback, link-local and metadata addresses are refused.' })
  url!: string;

  @Field(() => [String], { nullable: true, description: 'Omitted: every topic.' })
  topics?: string[] | null;
}

@ObjectType()
export class CreatedWebhook {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field({ description: 'Shown only here, once: the key of Secretspace-Signature (HMAC-SHA256).' })
  signingSecret!: string;
}
