// Access tokens in a VU. Setup hands every VU the tokens it minted; they expire
// (ACCESS_TOKEN_TTL_SECONDS, 15 min by default), so a long run logs in again once a token is
// older than TOKEN_MAX_AGE, or at once when the gateway answers UNAUTHENTICATED.
import { login } from './rest.js';
import { envDurationMs } from './env.js';

const MAX_AGE_MS = envDurationMs('TOKEN_MAX_AGE', '10m');
const cache = {};

export class Tokens {
  constructor(baseUrl, password) {
    this.baseUrl = baseUrl;
    this.password = password;
  }

  /** A token for `user` (`{username, token, tokenAt}` from setup), fresh enough to connect. */
  get(user) {
    const known =
      cache[user.username] || (cache[user.username] = { token: user.token, at: user.tokenAt });
    if (Date.now() - known.at > MAX_AGE_MS) this.refresh(user);
    return cache[user.username].token;
  }

  refresh(user) {
    const fresh = login(this.baseUrl, user.username, this.password);
    cache[user.username] = { token: fresh.token, at: fresh.tokenAt };
    return fresh.token;
  }
}
