import { Field, ObjectType } from 'type-graphql';
import { Column, Entity } from 'typeorm';

import { StoredEntity } from './stored-entity';

@ObjectType({ description: 'A set of secrets shared by its spaces.' })
@Entity({ name: 'environment' })
export class Environment extends StoredEntity {
  @Field()
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** The environment-key version new data keys are wrapped with. */
  @Column({ name: 'current_key_version', type: 'int' })
  currentKeyVersion!: number;
}
