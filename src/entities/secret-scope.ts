import { registerEnumType } from 'type-graphql';

export enum SecretScope {
  ENVIRONMENT = 'ENVIRONMENT',
  SPACE = 'SPACE',
}

registerEnumType(SecretScope, {
  name: 'SecretScope',
  description: 'Where a secret is defined: on the environment, or as a space-level override.',
});
