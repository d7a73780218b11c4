import { register } from 'node:module';
import type { Config } from './config.js';

/**
 * Starts OpenTelemetry only when an OTLP endpoint is configured, so the default path loads
 * none of it. Must run before the instrumented libraries (express, pg, ioredis...) are
 * imported, which is why main.ts imports the application after calling this.
 */
export async function startTracing(config: Config): Promise<(() => Promise<void>) | undefined> {
  if (!config.otel.endpoint) return undefined;
  // ESM modules are only patchable through the import-in-the-middle loader hook.
  register('import-in-the-middle/hook.mjs', import.meta.url);
  const [{ NodeSDK }, { getNodeAutoInstrumentations }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/auto-instrumentations-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    serviceName: config.otel.serviceName,
    traceExporter: new OTLPTraceExporter({
      url: `${config.otel.endpoint.replace(/\/$/, '')}/v1/traces`,
    }),
    instrumentations: [
      getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}
