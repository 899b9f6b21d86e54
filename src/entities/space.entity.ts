import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

@ObjectType({ description: "A workspace in one environment; inherits the environment's secrets." })
@Entity({ name: 'space' })
export class Space {
  @Field(() => ID)
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Field(() => ID)
  @Column({ name: 'environment_id', type: 'uuid' })
  environmentId!: string;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field()
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
