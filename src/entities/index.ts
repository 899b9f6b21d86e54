import { Environment } from './environment.entity';
import { EnvironmentKey } from './environment-key.entity';
import { Secret } from './secret.entity';
import { Space } from './space.entity';

export { Environment, EnvironmentKey, Secret, Space };
export { SecretScope } from './secret-scope';

export const entities = [Environment, EnvironmentKey, Space, Secret];
