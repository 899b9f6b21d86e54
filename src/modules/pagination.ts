import { Field, ObjectType } from 'type-graphql';

/** Relay-style page information, shared by every connection of the schema. */
@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}
