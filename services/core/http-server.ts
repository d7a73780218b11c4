import { createServer, maxHeaderSize, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { AppError, errorBody } from './errors.js';
import type { Logger } from './logger.js';
import { createHttpMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface HttpHost {
  app: Express;
  server: Server;
}

/**
 * The HTTP server every role shares: operations endpoints first, then whatever routes the
 * roles mount. One server per process, so api and gateway share PORT.
 */
export function createHttpHost(registry: Registry, readiness: Readiness, log: Logger): HttpHost {
  const app = express();
  app.disable('x-powered-by');
  // Behind a Kubernetes ingress or load balancer, the client address is in X-Forwarded-For.
  app.set('trust proxy', ['loopback', 'linklocal', 'uniquelocal']);
  const { requestDuration } = createHttpMetrics(registry);
  app.use((req, res, next) => {
    const end = requestDuration.startTimer();
    res.on('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = routePath ? `${req.baseUrl}${routePath}` : 'unmatched';
      const seconds = end({ method: req.method, route, status: String(res.statusCode) });
      // Access log at debug: emitted inside the request's trace context, so it carries trace ids.
      log.debug(
        { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'http request',
      );
    });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readiness.report();
    res
      .status(report.ready ? 200 : 503)
      .json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  app.get('/metrics', async (_req, res) => {
    try {
      res.type(registry.contentType).send(await registry.metrics());
    } catch (err) {
      log.error({ err }, 'metrics collection failed');
      res.status(500).end();
    }
  });
  const server = createServer(app);
  // Keep-alive longer than typical load balancer idle timeouts, so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerUnparsableRequest);
  return { app, server };
}

/**
 * Requests Node cannot parse never reach express; Node's own answer would be a bare 431 or 400.
 * They get the contract's error body instead, so even a request line over the header limit
 * (a long path parameter) is a VALIDATION error a client can read.
 */
export function answerUnparsableRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const problem = tooLarge
    ? `the request line and headers exceed ${maxHeaderSize} bytes`
    : 'not a well-formed HTTP/1.1 request';
  const body = JSON.stringify(
    errorBody(
      new AppError('VALIDATION', tooLarge ? 'request too large' : 'malformed request', {
        fields: [{ path: 'headers', message: problem }],
      }),
    ),
  );
  socket.end(
    'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
