import { ApiToken } from './api-token.entity';
import { AuditEvent } from './audit-event.entity';
import { Environment } from './environment.entity';
import { EnvironmentKey } from './environment-key.entity';
import { Secret } from './secret.entity';
import { Space } from './space.entity';

export { ApiToken, AuditEvent, Environment, EnvironmentKey, Secret, Space };
export { AuditAction } from './audit-event.entity';
export { TokenRole } from './token-role';
export { SecretScope } from './secret-scope';

export const entities = [Environment, EnvironmentKey, Space, Secret, ApiToken, AuditEvent];
