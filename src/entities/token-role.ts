import { registerEnumType } from 'type-graphql';

export enum TokenRole {
  /** Manages everything; may write values but never read them. */
  ADMIN = 'ADMIN',
  /** Bound to one environment (optionally one space); reads there, writes nothing. */
  LISTENER = 'LISTENER',
}

registerEnumType(TokenRole, { name: 'TokenRole' });
