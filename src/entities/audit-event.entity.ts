import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

import { SecretScope } from './secret-scope';

export enum AuditAction {
  SECRET_READ = 'SECRET_READ',
  SECRET_WRITTEN = 'SECRET_WRITTEN',
  SECRET_DELETED = 'SECRET_DELETED',
  SECRET_ROLLED_BACK = 'SECRET_ROLLED_BACK',
  SECRET_RESTORED = 'SECRET_RESTORED',
  SECRET_DESTROYED = 'SECRET_DESTROYED',
  ENVIRONMENT_CREATED = 'ENVIRONMENT_CREATED',
  ENVIRONMENT_DELETED = 'ENVIRONMENT_DELETED',
  SPACE_CREATED = 'SPACE_CREATED',
  SPACE_DELETED = 'SPACE_DELETED',
  TOKEN_CREATED = 'TOKEN_CREATED',
  TOKEN_REVOKED = 'TOKEN_REVOKED',
  KEY_REWRAPPED = 'KEY_REWRAPPED',
  /** Retention dropped a partition: firstAt/lastAt bound the events dropped. */
  AUDIT_PRUNED = 'AUDIT_PRUNED',
  WEBHOOK_CREATED = 'WEBHOOK_CREATED',
  WEBHOOK_DELETED = 'WEBHOOK_DELETED',
}

registerEnumType(AuditAction, { name: 'AuditAction' });

/** One append-only audit record. It never holds a value, a key or a token. */
@ObjectType()
@Entity({ name: 'audit_event' })
export class AuditEvent {
  /** Insertion order; backs the pagination cursor. Not in the schema. */
  @PrimaryColumn({ type: 'bigint' })
  seq!: string;

  @Field(() => ID)
  @Column({ type: 'uuid' })
  id!: string;

  @Field()
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Field(() => AuditAction)
  @Column({ type: 'varchar', length: 32 })
  action!: AuditAction;

  @Field(() => ID, { nullable: true, description: 'The token that acted; null for the CLI and start-up.' })
  @Column({ name: 'token_id', type: 'uuid', nullable: true })
  tokenId!: string | null;

  @Field(() => ID, { nullable: true })
  @Column({ name: 'environment_id', type: 'uuid', nullable: true })
  environmentId!: string | null;

  @Field(() => ID, { nullable: true })
  @Column({ name: 'space_id', type: 'uuid', nullable: true })
  spaceId!: string | null;

  @Field(() => ID, { nullable: true })
  @Column({ name: 'secret_id', type: 'uuid', nullable: true })
  secretId!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ name: 'secret_name', type: 'text', nullable: true })
  secretName!: string | null;

  @Field(() => Int, { nullable: true })
  @Column({ name: 'secret_version', type: 'int', nullable: true })
  secretVersion!: number | null;

  @Field(() => SecretScope, { nullable: true, description: 'For reads: the scope that supplied the value.' })
  @Column({ type: 'varchar', length: 16, nullable: true })
  source!: SecretScope | null;

  @Field(() => ID, { nullable: true, description: 'For token events: the token created or revoked.' })
  @Column({ name: 'subject_token_id', type: 'uuid', nullable: true })
  subjectTokenId!: string | null;

  @Field(() => Int, { description: 'How many events this record stands for: reads coalesced into one record (AUDIT_READS=coalesce) count each read; otherwise 1.' })
  @Column({ type: 'int', default: 1 })
  count!: number;

  @Field(() => Date, { nullable: true, description: 'Coalesced reads: the first read counted. AUDIT_PRUNED: the start of the range dropped (null: from the beginning).' })
  @Column({ name: 'first_at', type: 'timestamptz', nullable: true })
  firstAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Coalesced reads: the last read counted. AUDIT_PRUNED: the end of the range dropped.' })
  @Column({ name: 'last_at', type: 'timestamptz', nullable: true })
  lastAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The actor of a personal secret read or written.' })
  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ name: 'webhook_id', type: 'uuid', nullable: true })
  webhookId!: string | null;

  @Column({ name: 'affected_space_ids', type: 'uuid', array: true, nullable: true })
  affectedSpaceIds!: string[] | null;
}
