import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * Outside production a missing JWT_SECRET is generated once and kept under DATA_DIR, so
 * sessions survive restarts of a local install. Production refuses to start without one
 * (enforced by the config schema).
 */
export function resolveJwtSecret(config: Config, log: Logger): string {
  if (config.jwtSecret) return config.jwtSecret;
  const file = join(config.dataDir, 'jwt-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) {
      log.warn(
        { file },
        'JWT_SECRET not set; using the generated secret kept under DATA_DIR (set JWT_SECRET in production)',
      );
      return existing;
    }
  } catch {
    // not created yet
  }
  const secret = randomBytes(48).toString('base64url');
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  log.warn(
    { file },
    'JWT_SECRET not set; generated one and stored it under DATA_DIR (set JWT_SECRET in production)',
  );
  return secret;
}
