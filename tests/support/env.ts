// Addresses of the servers started by scripts/test.mjs (or given by the developer).
export function requiredEnv(name: 'DATABASE_URL' | 'REDIS_URL' | 'KAFKA_BROKERS'): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run the tests with \`npm test\`, which starts the servers`,
    );
  return value;
}
