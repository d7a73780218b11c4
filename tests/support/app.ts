import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../services/core/config.js';
import { createLogger } from '../../services/core/logger.js';
import { startSignalink, type Signalink } from '../../services/runtime.js';
import { createTestDatabase } from './database.js';
import { requiredEnv } from './env.js';

export interface TestApp {
  app: Signalink;
  baseUrl: string;
  databaseUrl: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts Signalink in this process on a free port, with its own fresh database and its own
 * Redis key prefix, so test files never see each other's data. `env` overrides variables.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  label = 'app',
): Promise<TestApp> {
  const database = env.DATABASE_URL ? undefined : await createTestDatabase(label);
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    ROLES: 'api',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}:`,
    DATA_DIR: `/tmp/signalink-test-${randomBytes(4).toString('hex')}`,
    DRAIN_TIMEOUT_MS: '2000',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const app = await startSignalink(config, createLogger(config.logLevel));
  return {
    app,
    baseUrl: `http://127.0.0.1:${app.port}`,
    databaseUrl: fullEnv.DATABASE_URL!,
    env: fullEnv,
    stop: async () => {
      await app.stop();
      await database?.drop();
    },
  };
}
