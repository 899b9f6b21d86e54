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


  @Field(() => SecretScope)
  get scope(): SecretScope {
    return this.spaceId === null ? SecretScope.ENVIRONMENT : SecretScope.SPACE;
  }
}
