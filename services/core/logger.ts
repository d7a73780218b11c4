import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Adds the active trace and span ids so logs can be joined with traces. */
function traceContext(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'signalink', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceContext,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        'refreshToken',
        '*.refreshToken',
        'req.headers.authorization',
        'content',
        '*.content',
      ],
      censor: '[redacted]',
    },
  });
}
