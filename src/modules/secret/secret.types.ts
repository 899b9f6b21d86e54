import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

import { Secret, SecretScope } from '../../entities';
import { PageInfo } from '../pagination';
import type { ResolvedSecret } from './resolution';
import type { VersionRow } from './secret.repository';

@ObjectType({ description: 'A secret as a view sees it after overrides (and personal values) are applied.' })
export class EffectiveSecret implements ResolvedSecret {
  @Field()
  name!: string;

  @Field(() => SecretScope, { description: 'ENVIRONMENT when the supplying row is environment-level, SPACE when it is space-level.' })
  source!: SecretScope;

  @Field(() => Secret, { description: 'The row that supplies the value.' })
  secret!: Secret;

  @Field(() => Secret, {
    nullable: true,
    description: 'The secret it shadows: the one that would supply the value without this one (next in (S, A), (E, A), (S), (E)).',
  })
  overrides!: Secret | null;

  @Field({
    description:
      'True when `overrides` (its id and version) differs from what the supplying secret shadowed when its current version was written: the value underneath changed, appeared or was replaced since.',
  })
  overrideStale!: boolean;

  @Field(() => String, { nullable: true, description: 'Set when a personal value supplies it: the actor it belongs to.' })
  actorId!: string | null;
}

@ObjectType({ description: 'One retained version of a secret.' })
export class SecretVersion {
  @Field(() => Int)
  version!: number;

  @Field({ description: 'When this version was written.' })
  createdAt!: Date;

  @Field(() => ID, { nullable: true, description: 'The token that wrote it; null for the CLI.' })
  tokenId!: string | null;

  @Field(() => Int, { nullable: true, description: 'The version a rollback or restore copied into this one.' })
  restoredFrom!: number | null;

  /** The secret and the sealed version, for `value`; never in the schema. */
  secret!: Secret;
  row!: VersionRow;
}

@ObjectType()
export class SecretVersionEdge {
  @Field()
  cursor!: string;

  @Field(() => SecretVersion)
  node!: SecretVersion;
}

@ObjectType()
export class SecretVersionConnection {
  @Field(() => [SecretVersionEdge])
  edges!: SecretVersionEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType()
export class UpsertSecretInput {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID, { nullable: true, description: 'Set to write a space-level override.' })
  spaceId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Set to write a personal value for this actor (1-128 printable ASCII characters, no spaces); it wins over shared ones.',
  })
  actorId?: string | null;

  @Field({ description: '1-1024 characters; no control characters; no leading or trailing whitespace.' })
  name!: string;

  @Field({ description: '1 byte to 64 KiB of UTF-8. Write-only for ADMIN tokens.' })
  value!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'Check-and-set: 0 means create only (a deleted secret counts as absent); otherwise the write applies only at this version.',
  })
  expectedVersion?: number | null;
}

@InputType()
export class RollbackSecretInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: 'A retained version; its value becomes a new version, re-sealed by the server.' })
  version!: number;

  @Field(() => Int, { nullable: true, description: 'Check-and-set against the current version.' })
  expectedVersion?: number | null;
}
