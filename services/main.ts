// Entry point: `node dist/main.js` starts the roles in ROLES; `node dist/main.js migrate` only
// applies database migrations; `node dist/main.js verify` runs the loss verifier;
// `node dist/main.js render -f FILE` prints what the operator would apply for a Signalink;
// `node dist/main.js smoke --url URL` makes one message round trip through a deployment.
import { ConfigError, loadConfig, type Config } from './core/config.js';
import { createLogger } from './core/logger.js';
import { startTracing } from './core/tracing.js';

// The verifier is a client of a running deployment: it needs none of the server's configuration.
if (process.argv[2] === 'verify') {
  const { runVerifyCommand } = await import('./verify/cli.js');
  process.exit(await runVerifyCommand(process.argv.slice(3)));
}

// The smoke check is a client as well.
if (process.argv[2] === 'smoke') {
  const { runSmokeCommand } = await import('./smoke/cli.js');
  process.exit(await runSmokeCommand(process.argv.slice(3)));
}

// Rendering needs no cluster and none of the server's configuration either.
if (process.argv[2] === 'render') {
  const { runRender } = await import('./operator/render.js');
  process.exit(await runRender(process.argv.slice(3)));
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`signalink: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const config = readConfig();
const log = createLogger(config.logLevel);
const stopTracing = await startTracing(config);

// Imported after tracing starts so the instrumented libraries are patched.
const { startProcess } = await import('./runtime.js');
const { createDatabase, migrate } = await import('./core/database.js');

const command = process.argv[2] ?? 'start';
process.on('unhandledRejection', (reason) =>
  log.error({ err: reason }, 'unhandled promise rejection'),
);

if (command === 'migrate') {
  if (!config.databaseUrl) {
    log.fatal('DATABASE_URL is required for migrate');
    process.exit(2);
  }
  const db = createDatabase(config.databaseUrl, { max: 2, idleTimeoutMs: 30_000 }, log);
  try {
    const applied = await migrate(db, log);
    log.info({ applied: applied.length }, 'migrations up to date');
  } finally {
    await db.destroy();
  }
} else if (command === 'start') {
  let app;
  try {
    app = await startProcess(config, log);
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    await stopTracing?.();
    process.exit(1);
  }
  let firstSignalAt: number | undefined;
  const shutdown = async (signal: string) => {
    if (firstSignalAt !== undefined) {
      // A terminal's Ctrl-C arrives twice under `npm start` (from the terminal and forwarded by
      // npm): a repeat within a second is the same request; only a later one forces the exit.
      if (Date.now() - firstSignalAt < 1000) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    log.info({ signal }, 'shutting down');
    await app.stop();
    await stopTracing?.();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
} else {
  process.stderr.write(
    `signalink: unknown command "${command}" (use "start", "migrate", "verify", "render" or "smoke")\n`,
  );
  process.exit(2);
}
