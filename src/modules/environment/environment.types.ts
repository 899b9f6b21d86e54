import { Field, InputType } from 'type-graphql';

@InputType()
export class CreateEnvironmentInput {
  @Field({ description: '1-128 characters, unique.' })
  name!: string;
}
