// Messages between the runner (main thread) and a VU (worker thread) of the k6 double.
import type { MessagePort } from 'node:worker_threads';
import type { MetricKind, Sample } from './metrics.js';

export interface VuWorkerData {
  scriptUrl: string;
  vuId: number;
  env: Record<string, string>;
  /** setup()'s result as JSON, handed to every iteration (undefined before setup ran). */
  setupJson: string | undefined;
  /** Synchronous HTTP: requests go out on this port, the VU blocks on `httpSignal`. */
  httpPort: MessagePort;
  httpSignal: SharedArrayBuffer;
}

export interface ScenarioInfo {
  name: string;
  executor: string;
  startTime: number;
}

export type ToVu =
  | {
      type: 'iterate';
      exec: string;
      scenario: ScenarioInfo;
      iterationInTest: number;
      iterationInScenario: number;
    }
  | { type: 'call'; fn: 'setup' | 'teardown' | 'handleSummary'; argJson: string | undefined }
  | { type: 'interrupt' };

export interface MetricDef {
  name: string;
  kind: MetricKind;
  isTime: boolean;
}

export type FromVu =
  | { type: 'ready'; options: unknown; exports: string[]; metrics: MetricDef[] }
  | { type: 'init-failed'; error: string }
  | { type: 'samples'; samples: Sample[]; checks: { name: string; ok: boolean }[] }
  | {
      type: 'log';
      level: 'debug' | 'info' | 'warn' | 'error';
      message: string;
      source: 'console' | 'runtime';
    }
  | { type: 'iteration-done'; ok: boolean; interrupted: boolean; error?: string }
  | { type: 'call-done'; ok: boolean; resultJson?: string; error?: string }
  | { type: 'abort'; reason: string };

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  error: string;
  errorCode: number;
  durationMs: number;
  url: string;
}

export type HttpCall = { id: number; requests: HttpRequest[] };
export type HttpAnswer = { id: number; results: HttpResult[] };
