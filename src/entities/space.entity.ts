import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity } from 'typeorm';

import { StoredEntity } from './stored-entity';

@ObjectType({ description: "A workspace in one environment; inherits the environment's secrets." })
@Entity({ name: 'space' })
export class Space extends StoredEntity {
  @Field(() => ID)
  @Column({ name: 'environment_id', type: 'uuid' })
  environmentId!: string;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  name!: string;
}
