// The chaos scripts: shellcheck (Debian `shellcheck`, with the repository's .shellcheckrc) over
// every one of them, and the shape every kubectl experiment must have.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../../..');
const CHAOS = join(ROOT, 'scripts/chaos');
const experiments = readdirSync(CHAOS).filter((f) => f.endsWith('.sh') && f !== 'lib.sh');

it('shellcheck finds nothing in the chaos scripts', () => {
  const files = [
    ...readdirSync(CHAOS)
      .filter((f) => f.endsWith('.sh'))
      .map((f) => join(CHAOS, f)),
    join(ROOT, 'loadtest/chaos/run.sh'),
  ];
  try {
    execFileSync('shellcheck', ['--severity=info', ...files], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; message: string };
    throw new Error(`shellcheck: ${e.stdout?.toString() || e.message}`);
  }
});

it('covers the issue’s eight kubectl faults', () => {
  expect(experiments.sort()).toEqual(
    [
      'gateway-partition.sh',
      'gateway-pod-kill.sh',
      'gateway-rolling-restart.sh',
      'gateway-scale-out.sh',
      'kafka-broker-kill.sh',
      'node-drain.sh',
      'postgres-primary-kill.sh',
      'redis-pod-kill.sh',
    ].sort(),
  );
});

it.each(experiments)(
  '%s sources the shared library and goes precondition, load, fault, recovery, verdict',
  (file) => {
    const text = readFileSync(join(CHAOS, file), 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).toMatch(/^source "\$\(dirname "\$0"\)\/lib\.sh"$/m);
    const steps = [
      `chaos_begin ${file.replace(/\.sh$/, '')}`,
      'chaos_start_load',
      'chaos_wait_for_acks',
      'chaos_mark_fault',
      'chaos_wait_recovered',
      'chaos_finish',
    ].map((s) => text.indexOf(s));
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    // Shared functions live in lib.sh, not copied into the experiments.
    expect(text).not.toMatch(/^chaos_\w+\(\) \{/m);
  },
);

it('make chaos runs every experiment', () => {
  const make = readFileSync(join(ROOT, 'Makefile'), 'utf8');
  const list = /^CHAOS \?= (.*)$/m.exec(make)?.[1]?.split(/\s+/) ?? [];
  expect(list.map((n) => `${n}.sh`).sort()).toEqual([...experiments].sort());
});
