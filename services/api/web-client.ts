import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from '../core/logger.js';

/** web/dist, from services/api (tests) and dist/api (built) alike. */
export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/** Paths the page must never answer for, whatever order routes are mounted in. */
const SERVER_PATHS = /^\/(api|socket\.io|healthz|readyz|metrics)(\/|$)/;

/**
 * Serves the built web client at `/`: hashed assets cached for a year, and index.html for any
 * other GET that accepts HTML, so client-side routes survive a reload. The page makes requests
 * to its own origin only, and the content security policy holds it to that.
 */
export function mountWebClient(app: Express, log: Logger, dir = WEB_DIST): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    log.warn({ dir }, 'web client not built (run npm run build); / serves nothing');
    return false;
  }
  const page = express.Router();
  page.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          connectSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          styleSrc: ["'self'"],
          scriptSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          upgradeInsecureRequests: null,
        },
      },
      // Plain http on a LAN address must keep working for a local install.
      strictTransportSecurity: false,
    }),
  );
  page.use(
    '/assets',
    express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }),
  );
  page.use(express.static(dir, { index: false, maxAge: 0 }));
  page.get(/.*/, (req, res, next) => {
    if (!req.accepts('html')) return next();
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  app.use((req, res, next) => (SERVER_PATHS.test(req.path) ? next() : page(req, res, next)));
  return true;
}
