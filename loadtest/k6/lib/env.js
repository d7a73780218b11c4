// Scenario parameters from the environment (`k6 run -e NAME=value`), checked in the init
// context so a typo stops the run before any load starts, with the variable named.

function raw(name) {
  const value = __ENV[name];
  return value === undefined || value === '' ? undefined : value;
}

export function envString(name, fallback) {
  const value = raw(name);
  return value === undefined ? fallback : value;
}

export function envInt(name, fallback, limits) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = limits || {};
  const value = raw(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}; got "${value}"`);
  return n;
}

export function envNumber(name, fallback, limits) {
  const { min = 0, max = Number.MAX_VALUE } = limits || {};
  const value = raw(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name} must be a number from ${min} to ${max}; got "${value}"`);
  return n;
}

export function envBool(name, fallback) {
  const value = raw(name);
  if (value === undefined) return fallback;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new Error(`${name} must be true or false; got "${value}"`);
}

const UNIT_MS = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Parses a k6-style duration ("500ms", "30s", "1m30s", "2h") into milliseconds. */
export function parseDuration(text) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let match;
  while ((match = re.exec(text)) !== null) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * UNIT_MS[match[2]];
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== text.length) return undefined;
  return total;
}

export function envDurationMs(name, fallback) {
  const value = raw(name);
  if (value === undefined) return parseDuration(fallback);
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new Error(`${name} must be a duration like 500ms, 30s or 2m; got "${value}"`);
  return ms;
}

/** A duration in the form k6 options accept. */
export function k6Duration(ms) {
  return `${Math.max(0, Math.round(ms))}ms`;
}

/** BASE_URL: where the gateway and the API listen (one origin, as the chart exposes them). */
export function envBaseUrl() {
  const value = envString('BASE_URL', 'http://127.0.0.1:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(value))
    throw new Error(
      `BASE_URL must be an http(s) URL such as http://127.0.0.1:3000; got "${value}"`,
    );
  return value;
}
