import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity } from 'typeorm';

import { StoredEntity } from './stored-entity';

import { SecretScope } from './secret-scope';

/*
 * Ciphertext columns carry no @Field: they never reach the schema. The
 * decrypted `value` is a field resolver, so it is computed only when selected.
 */
@ObjectType({ description: 'One stored secret: environment-level, or a space-level override.' })
@Entity({ name: 'secret' })
export class Secret extends StoredEntity {
  @Field(() => ID)
  @Column({ name: 'environment_id', type: 'uuid' })
  environmentId!: string;

  @Field(() => ID, { nullable: true })
  @Column({ name: 'space_id', type: 'uuid', nullable: true })
  spaceId!: string | null;

  @Field(() => String, { nullable: true, description: 'The actor a personal secret belongs to; null for shared secrets.' })
  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Field()
  @Column({ type: 'text' })
  name!: string;

  /** SHA-256 of the UTF-8 name: what the unique indexes cover (names can exceed a btree entry). */
  @Column({ name: 'name_digest', type: 'bytea' })
  nameDigest!: Buffer;

  @Field(() => Int, { description: 'Starts at 1; grows by one on every write.' })
  @Column({ type: 'int' })
  version!: number;

  /** The environment-key version that wraps this row's data key. */
  @Column({ name: 'key_version', type: 'int' })
  keyVersion!: number;

  @Column({ name: 'wrapped_dek', type: 'bytea' })
  wrappedDek!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  @Field(() => Date, { nullable: true, description: 'Set while the secret is deleted (restorable until purged).' })
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  /** What this row shadowed when its current version was written (the `overrides` row's id and version). */
  @Column({ name: 'shadowed_id', type: 'uuid', nullable: true })
  shadowedId!: string | null;

  @Column({ name: 'shadowed_version', type: 'int', nullable: true })
  shadowedVersion!: number | null;

  /** The token that wrote the current version (null: the CLI or start-up). */
  @Column({ name: 'written_by', type: 'uuid', nullable: true })
  writtenBy!: string | null;

  /** The version a rollback or restore copied into the current one. */
  @Column({ name: 'restored_from', type: 'int', nullable: true })
  restoredFrom!: number | null;

  @Field(() => SecretScope)
  get scope(): SecretScope {
    return this.spaceId === null ? SecretScope.ENVIRONMENT : SecretScope.SPACE;
  }
}
