/**
 * Reads the Dockerfile and .dockerignore the way the builder does, far enough for the checks
 * that can run without Docker: stages and their instructions (line continuations joined,
 * comments dropped) and which context paths .dockerignore lets through (its patterns in
 * order, the last match winning, `!` re-including).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  platform?: string;
  name?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim().startsWith('#') || line.trim() === '')) return;
    if (pending !== '' && line.trim().startsWith('#')) return;
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    logical.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: startLine });
  });
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of logical) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ platform: m[1], from: m[2]!, name: m[3], instructions: [] });
    } else if (stages.length === 0) {
      args.push(ins);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** A Go filepath.Match-like glob with `**`, anchored at the context root. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: globToRegExp(pattern) };
    });
  /** True when the path (relative to the context) reaches the builder. */
  return (path: string) => {
    let excluded = false;
    const parts = path.split('/');
    for (const rule of rules) {
      // A pattern matching a parent directory matches everything inside it.
      const hit = parts.some((_, i) => rule.re.test(parts.slice(0, i + 1).join('/')));
      if (hit) excluded = !rule.negate;
    }
    return !excluded;
  };
}

export function readRepoFile(root: string, name: string): string {
  return readFileSync(join(root, name), 'utf8');
}
