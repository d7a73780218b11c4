// Where the VUs' console output and the runner's own messages go: stderr, or the
// --console-output file for console lines, in k6's formats (default logfmt, raw, json).
import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'raw' | 'json';
export type Level = 'debug' | 'info' | 'warn' | 'error';

const K6_LEVEL: Record<Level, string> = {
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
};

export function formatLine(
  format: LogFormat,
  level: Level,
  message: string,
  source?: string,
): string {
  const time = new Date().toISOString();
  switch (format) {
    case 'raw':
      return `${message}\n`;
    case 'json':
      return `${JSON.stringify({ level: K6_LEVEL[level], msg: message, ...(source ? { source } : {}), time })}\n`;
    case 'text':
      return `time="${time}" level=${K6_LEVEL[level]} msg=${JSON.stringify(message)}${source ? ` source=${source}` : ''}\n`;
  }
}

export class Logger {
  constructor(
    private readonly format: LogFormat,
    private readonly consoleFile: string | undefined,
  ) {}

  console(level: Level, message: string): void {
    const line = formatLine(this.format, level, message, 'console');
    if (this.consoleFile) appendFileSync(this.consoleFile, line);
    else process.stderr.write(line);
  }

  runner(level: Level, message: string): void {
    process.stderr.write(formatLine(this.format, level, message));
  }
}
