import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

import { Secret, SecretScope } from '../../entities';
import type { ResolvedSecret } from './resolution';

@ObjectType({ description: 'A secret as a scope sees it after overrides are applied.' })
export class EffectiveSecret implements ResolvedSecret {
  @Field()
  name!: string;

  @Field(() => SecretScope, { description: 'ENVIRONMENT when inherited, SPACE when the space defines it.' })
  source!: SecretScope;

  @Field(() => Secret, { description: 'The row that supplies the value.' })
  secret!: Secret;

  @Field(() => Secret, { nullable: true, description: 'The environment secret this one shadows, if any.' })
  overrides!: Secret | null;
}

@InputType()
export class UpsertSecretInput {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID, { nullable: true, description: 'Set to write a space-level override.' })
  spaceId?: string | null;

  @Field({ description: '1-1024 characters; no control characters; no leading or trailing whitespace.' })
  name!: string;

  @Field({ description: '1 byte to 64 KiB of UTF-8. Write-only for ADMIN tokens.' })
  value!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'Check-and-set: 0 means create only; otherwise the write applies only at this version.',
  })
  expectedVersion?: number | null;
}
