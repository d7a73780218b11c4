// A real SMTP server for the email tests: Mailpit (github.com/axllent/mailpit), built by
// scripts/tools/mailpit.sh into the tool cache, started on free loopback ports with its own
// temporary database and stopped by pid. Its HTTP API shows what arrived; its chaos triggers
// make the SMTP server answer a chosen error code.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './node-process.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');

export interface MailAddress {
  Name: string;
  Address: string;
}

export interface MailSummary {
  ID: string;
  MessageID: string;
  From: MailAddress;
  To: MailAddress[];
  Subject: string;
  Created: string;
}

export interface Mail extends MailSummary {
  Text: string;
  HTML: string;
}

export interface ChaosTrigger {
  ErrorCode: number;
  Probability: number;
}

export interface Mailpit {
  smtpPort: number;
  httpPort: number;
  /** SMTP_URL for Signalink. */
  smtpUrl: string;
  /** Every mail received so far, oldest first. */
  messages(): Promise<MailSummary[]>;
  message(id: string): Promise<Mail>;
  headers(id: string): Promise<Record<string, string[]>>;
  /** Mails to one address, full, oldest first. */
  mailsTo(address: string): Promise<Mail[]>;
  /** Makes the SMTP server answer RCPT TO (or MAIL FROM) with an error; `{}` resets. */
  chaos(triggers: { Sender?: ChaosTrigger; Recipient?: ChaosTrigger }): Promise<void>;
  /** Stops the server (SMTP refuses connections) and keeps its database. */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same database. */
  restart(): Promise<void>;
  /** Stops it and removes its database. */
  close(): Promise<void>;
}

async function binary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/tools/mailpit.sh')], {
    maxBuffer: 10 * 1024 * 1024,
  });
  const dir = stdout.trim().split('\n').pop()!;
  return join(dir, 'mailpit');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

export async function startMailpit(
  options: {
    /** Recipients not matching this regular expression are refused with 550. */
    allowedRecipients?: string;
  } = {},
): Promise<Mailpit> {
  const bin = await binary();
  const dir = await mkdtemp(join(tmpdir(), 'signalink-mailpit-'));
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${httpPort}/api/v1`;
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    const args = [
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--database',
      join(dir, 'mailpit.db'),
      '--smtp-disable-rdns',
      '--disable-version-check',
      '--enable-chaos',
      '--max',
      '0',
      ...(options.allowedRecipients
        ? ['--smtp-allowed-recipients', options.allowedRecipients]
        : []),
    ];
    const started = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (started.exitCode !== null)
        throw new Error(`mailpit exited with ${started.exitCode}:\n${output}`);
      const ready =
        (await portOpen(smtpPort)) &&
        (await fetch(`${api}/info`)
          .then((r) => r.ok)
          .catch(() => false));
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`mailpit did not start in 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    process.kill(running.pid!, 'SIGTERM');
    await exited;
  };
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${api}${path}`, init);
    if (!res.ok) throw new Error(`mailpit ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  await launch();
  const mailpit: Mailpit = {
    smtpPort,
    httpPort,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    messages: async () =>
      (await json<{ messages: MailSummary[] }>('/messages?limit=1000')).messages.reverse(),
    message: (id) => json<Mail>(`/message/${id}`),
    headers: (id) => json<Record<string, string[]>>(`/message/${id}/headers`),
    mailsTo: async (address) => {
      const all = await mailpit.messages();
      const mine = all.filter((m) =>
        m.To.some((t) => t.Address.toLowerCase() === address.toLowerCase()),
      );
      return Promise.all(mine.map((m) => mailpit.message(m.ID)));
    },
    chaos: async (triggers) => {
      await json('/chaos', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(triggers),
      });
    },
    stop,
    restart: launch,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return mailpit;
}
