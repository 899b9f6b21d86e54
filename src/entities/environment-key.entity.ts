import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A version of an environment's key, stored only wrapped by a master key. Never in the schema. */
@Entity({ name: 'environment_key' })
export class EnvironmentKey {
  @PrimaryColumn({ name: 'environment_id', type: 'uuid' })
  environmentId!: string;

  @PrimaryColumn({ type: 'int' })
  version!: number;

  /** Self-describing blob (see src/crypto/README.md); authoritative for unwrapping. */
  @Column({ name: 'wrapped_key', type: 'bytea' })
  wrappedKey!: Buffer;

  /** Copied from the blob so rotation can find keys by provider and master key. */
  @Column({ name: 'provider_id', type: 'varchar', length: 64 })
  providerId!: string;

  @Column({ name: 'key_ref', type: 'text' })
  keyRef!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
