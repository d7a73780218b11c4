// HAProxy (Debian package `haproxy`) in front of the gateways: round robin, WebSocket-aware,
// health-checked on /readyz, so a gateway that is down, draining or not started yet gets no new
// connections and one that becomes ready joins the pool by itself. 127.0.0.1 only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../lib/paths.js';
import { freePort } from '../lib/ports.js';
import type { ProcessRegistry } from '../lib/processes.js';

export interface BackendServer {
  name: string;
  port: number;
}

export interface HaproxyOptions {
  port: number;
  servers: BackendServer[];
  /** Health check interval; a server is out after 2 failed checks and in after 1 good one. */
  checkIntervalMs?: number;
}

const LOOPBACK = '127.0.0.1';

/** The configuration file, as text (pure, unit-tested). */
export function haproxyConfig({ port, servers, checkIntervalMs = 500 }: HaproxyOptions): string {
  if (servers.length === 0) throw new Error('haproxy needs at least one backend server');
  for (const s of [{ name: 'frontend', port }, ...servers])
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535)
      throw new Error(`bad port for ${s.name}: ${s.port}`);
  const names = new Set<string>();
  for (const s of servers) {
    if (!/^[A-Za-z0-9_-]+$/.test(s.name)) throw new Error(`bad server name ${s.name}`);
    if (names.has(s.name)) throw new Error(`duplicate server name ${s.name}`);
    names.add(s.name);
  }
  return [
    'global',
    // No maxconn: HAProxy derives it from the open-file limit it finds, and refuses to start
    // when a fixed one needs more descriptors than that limit allows.
    '  # no log target: the suite reads gateway metrics, not proxy logs',
    '',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // An upgraded WebSocket is a tunnel: its idle limit must exceed Socket.IO's ping interval
    // (25 s) plus timeout (20 s), or the proxy would cut healthy sockets.
    '  timeout tunnel 1h',
    '  timeout client-fin 5s',
    '  timeout http-request 10s',
    '  timeout queue 5s',
    '',
    'frontend signalink',
    `  bind ${LOOPBACK}:${port}`,
    '  default_backend gateways',
    '',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    `  default-server inter ${checkIntervalMs}ms fastinter ${checkIntervalMs}ms downinter ${checkIntervalMs}ms fall 2 rise 1`,
    ...servers.map((s) => `  server ${s.name} ${LOOPBACK}:${s.port} check`),
    '',
  ].join('\n');
}

export interface Haproxy {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startHaproxy(
  registry: ProcessRegistry,
  servers: BackendServer[],
): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'signalink-chaos-haproxy-'));
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig({ port, servers }));
  // -db: stay in the foreground (stopped by pid); -q: no startup chatter.
  const { child, output } = registry.spawn('haproxy', 'haproxy', ['-db', '-q', '-f', file], {
    PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`,
  });
  const url = `http://${LOOPBACK}:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `haproxy exited (${child.exitCode}); is the Debian package installed? ${output()}`,
      );
    // Answers (503 while no backend is up) once it listens.
    const answered = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${url}: ${output()}`);
    await sleep(100);
  }
  return {
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
