import { Field, ID, Int, ObjectType } from 'type-graphql';

import { AuditAction } from '../../entities';

/** DESIGN §12. Never a value. */
@ObjectType({ description: 'A change to a secret that may change what a name resolves to. Never carries a value.' })
export class SecretEvent {
  @Field({ description: 'Opaque; resume after this event with `secretEvents(after: cursor)`.' })
  cursor!: string;

  @Field({ description: "Flatfile's topic: secret:created | secret:updated | secret:deleted." })
  topic!: string;

  @Field(() => AuditAction, { description: 'What happened exactly.' })
  action!: AuditAction;

  @Field()
  at!: Date;

  @Field(() => ID, { nullable: true, description: 'The token that made the change; null for the CLI.' })
  tokenId!: string | null;

  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID, { nullable: true, description: 'The space of the changed row; null for an environment-level row.' })
  spaceId!: string | null;

  @Field(() => String, { nullable: true, description: 'The actor of a personal secret; null for a shared one.' })
  actorId!: string | null;

  @Field(() => ID)
  secretId!: string;

  @Field()
  name!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => [ID], { description: 'Spaces whose effective value of `name` changed.' })
  affectedSpaceIds!: string[];
}
