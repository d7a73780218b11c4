// A message round trip through a running Signalink, as a user would make it: a throw-away user
// registers, creates a private channel, opens two sockets (two devices, so the message crosses
// gateway pods behind a Service), sends on one, receives it on the other, and reads it back
// through the REST API. Used by the chart's `helm test`, the kind CI job and by hand.
import { randomBytes } from 'node:crypto';
import { SignalinkClient, SignalinkRest, type Message } from '../client/index.js';

export interface RoundTripOptions {
  /** Where sockets connect (the gateway Service); the API too unless apiUrl is set. */
  url: string;
  apiUrl?: string;
  /** An existing account instead of a throw-away one. */
  login?: string;
  password?: string;
  /** One deadline for the whole round trip (readiness included). */
  timeoutMs: number;
  /** Progress, one line per step. */
  report?: (step: StepResult) => void;
}

export interface StepResult {
  step: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface RoundTripResult {
  ok: boolean;
  steps: StepResult[];
}

class StepFailed extends Error {}

function token(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

async function withDeadline<T>(what: string, deadline: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const left = Math.max(0, deadline - Date.now());
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StepFailed(`${what}: no answer within the deadline`)),
          left,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls /readyz until it answers 200 (pods may still be starting right after an install). */
async function waitReady(base: string, deadline: number): Promise<string> {
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return `${base}/readyz 200`;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + 1000 > deadline)
      throw new StepFailed(`${base}/readyz never answered 200 (last: ${last})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function roundTrip(options: RoundTripOptions): Promise<RoundTripResult> {
  const deadline = Date.now() + options.timeoutMs;
  const socketUrl = options.url.replace(/\/+$/, '');
  const apiUrl = (options.apiUrl ?? options.url).replace(/\/+$/, '');
  const steps: StepResult[] = [];
  const clients: SignalinkClient[] = [];
  const rest = new SignalinkRest({ url: apiUrl });

  const step = async <T>(name: string, work: () => Promise<{ value: T; detail: string }>) => {
    const started = Date.now();
    try {
      const { value, detail } = await work();
      const result = { step: name, ok: true, ms: Date.now() - started, detail };
      steps.push(result);
      options.report?.(result);
      return value;
    } catch (err) {
      const result = {
        step: name,
        ok: false,
        ms: Date.now() - started,
        detail: (err as Error).message,
      };
      steps.push(result);
      options.report?.(result);
      throw new StepFailed(result.detail);
    }
  };

  try {
    await step('ready', async () => {
      const details = [await waitReady(socketUrl, deadline)];
      if (apiUrl !== socketUrl) details.push(await waitReady(apiUrl, deadline));
      return { value: undefined, detail: details.join(', ') };
    });
    const user = await step('sign-in', async () => {
      if (options.login && options.password) {
        const session = await withDeadline(
          'login',
          deadline,
          rest.login(options.login, options.password),
        );
        return { value: session.user, detail: `logged in as ${session.user.username}` };
      }
      const username = `smoke-${token(5)}`;
      const session = await withDeadline(
        'register',
        deadline,
        rest.register({ username, email: `${username}@smoke.invalid`, password: token(16) }),
      );
      return { value: session.user, detail: `registered ${session.user.username}` };
    });
    const channel = await step('channel', async () => {
      const c = await withDeadline(
        'create channel',
        deadline,
        rest.createChannel({ name: `smoke-${token(4)}`, type: 'private' }),
      );
      return { value: c, detail: `private channel ${c.id}` };
    });
    const [sender, receiver] = await step('connect', async () => {
      const pair = [0, 1].map(
        () =>
          new SignalinkClient({
            url: socketUrl,
            token: rest,
            connectTimeoutMs: Math.max(1000, deadline - Date.now()),
          }),
      );
      clients.push(...pair);
      await Promise.all(pair.map((c) => c.connect()));
      return { value: pair as [SignalinkClient, SignalinkClient], detail: 'two sockets connected' };
    });
    const content = `smoke ${new Date().toISOString()} ${token(4)}`;
    const sent = await step('round-trip', async () => {
      receiver.track(channel.id, channel.lastSeq);
      const received = new Promise<Message>((resolve) => {
        receiver.on('message', (m) => {
          if (m.channelId === channel.id && m.content === content) resolve(m);
        });
      });
      const acked = await withDeadline(
        'message.send ack',
        deadline,
        sender.send(channel.id, content),
      );
      const seen = await withDeadline('message.new on the second socket', deadline, received);
      if (seen.id !== acked.id || seen.seq !== acked.seq) {
        throw new StepFailed(`received ${seen.id}#${seen.seq}, acked ${acked.id}#${acked.seq}`);
      }
      return { value: acked, detail: `seq ${acked.seq} acked and delivered to the other socket` };
    });
    await step('read-back', async () => {
      const page = await withDeadline('history', deadline, rest.history(channel.id));
      const stored = page.messages.find((m) => m.id === sent.id);
      if (!stored) throw new StepFailed(`message ${sent.id} is not in the channel's history`);
      if (stored.content !== content || stored.seq !== sent.seq || stored.sender.id !== user.id) {
        throw new StepFailed(`history holds a different message under ${sent.id}`);
      }
      return { value: undefined, detail: `history holds seq ${stored.seq}` };
    });
    return { ok: true, steps };
  } catch (err) {
    if (!(err instanceof StepFailed)) {
      steps.push({ step: 'unexpected', ok: false, ms: 0, detail: (err as Error).message });
    }
    return { ok: false, steps };
  } finally {
    for (const c of clients) c.close();
    if (rest.signedIn) await rest.logout().catch(() => undefined);
  }
}
