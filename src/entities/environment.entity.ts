import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

@ObjectType({ description: 'A set of secrets shared by its spaces.' })
@Entity({ name: 'environment' })
export class Environment {
  @Field(() => ID)
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** The environment-key version new data keys are wrapped with. */
  @Column({ name: 'current_key_version', type: 'int' })
  currentKeyVersion!: number;

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field()
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
