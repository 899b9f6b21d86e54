import { Field, ID, InputType, ObjectType } from 'type-graphql';

import { ApiToken, TokenRole } from '../../entities';

@InputType()
export class CreateApiTokenInput {
  @Field({ description: '1-128 characters, for people: what uses this token.' })
  name!: string;

  @Field(() => TokenRole)
  role!: TokenRole;

  @Field(() => ID, { nullable: true, description: 'Required for LISTENER (or implied by spaceId); not allowed for ADMIN.' })
  environmentId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Binds a LISTENER to one space of its environment.' })
  spaceId?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the token stops working (in the future); omitted: never.' })
  expiresAt?: Date | null;
}

@ObjectType({ description: 'An admin UI session: an ADMIN token held only in an HttpOnly cookie.' })
export class Session {
  @Field({ description: 'Fixed at sign-in (8 h), not extended by use.' })
  expiresAt!: Date;

  @Field(() => ApiToken)
  apiToken!: ApiToken;
}

@ObjectType()
export class CreatedApiToken {
  @Field({ description: 'Shown only here, once. Send it as `Authorization: Bearer <token>`.' })
  token!: string;

  @Field(() => ApiToken)
  apiToken!: ApiToken;
}
