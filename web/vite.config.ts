import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// `vite build --config web/vite.config.ts` writes web/dist, which the api role serves at `/`.
// `vite --config web/vite.config.ts` serves the page with hot reload and forwards the API and
// Socket.IO to a server started separately on port 3000 (SIGNALINK_URL to change it).
const target = process.env.SIGNALINK_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no runtime module preload polyfill (modern browsers only).
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '/api': target,
      '/socket.io': { target, ws: true },
    },
  },
});
