import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class CreateSpaceInput {
  @Field(() => ID)
  environmentId!: string;

  @Field({ description: '1-128 characters, unique within the environment.' })
  name!: string;
}
