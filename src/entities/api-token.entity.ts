import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

import { TokenRole } from './token-role';

/** An API token. The token itself is shown once at creation; only its hash is stored, never in the schema. */
@ObjectType()
@Entity({ name: 'api_token' })
export class ApiToken {
  @Field(() => ID)
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Field(() => TokenRole)
  @Column({ type: 'varchar', length: 16 })
  role!: TokenRole;

  @Field(() => ID, { nullable: true, description: 'The environment a LISTENER is bound to.' })
  @Column({ name: 'environment_id', type: 'uuid', nullable: true })
  environmentId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The space a LISTENER is bound to, if any.' })
  @Column({ name: 'space_id', type: 'uuid', nullable: true })
  spaceId!: string | null;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash!: Buffer;

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Updated at most once a minute.' })
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'After this the token is UNAUTHENTICATED; null: it does not expire.' })
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Field(() => ID, {
    nullable: true,
    description: 'For an admin UI session: the token that signed in. Revoking that token ends the session.',
  })
  @Column({ name: 'parent_token_id', type: 'uuid', nullable: true })
  parentTokenId!: string | null;
}
