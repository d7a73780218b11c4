import { SignalinkRest, type Tokens, type TokenStore } from '../../services/client/index.js';

const STORAGE_KEY = 'signalink.tokens';

/** Tokens in localStorage, so a reload or a second tab stays signed in. */
const localTokens: TokenStore = {
  load() {
    try {
      const raw = localStorage.getItem(STORAGE_KEY);
      const parsed = raw ? (JSON.parse(raw) as Partial<Tokens>) : undefined;
      return typeof parsed?.accessToken === 'string'
        ? {
            accessToken: parsed.accessToken,
            refreshToken: typeof parsed.refreshToken === 'string' ? parsed.refreshToken : undefined,
          }
        : undefined;
    } catch {
      return undefined;
    }
  },
  save(tokens) {
    if (tokens) localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    else localStorage.removeItem(STORAGE_KEY);
  },
};

/** Tabs share one refresh token; the Web Locks API lets only one of them rotate it at a time. */
async function refreshLock<T>(fn: () => Promise<T>): Promise<T> {
  if (!navigator.locks) return fn();
  return navigator.locks.request('signalink-token-refresh', () => fn()) as Promise<T>;
}

export function createRest(): SignalinkRest {
  return new SignalinkRest({ url: window.location.origin, store: localTokens, refreshLock });
}
