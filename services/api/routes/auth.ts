import type { AccountService } from '../../chat/accounts.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';
import {
  loginBody,
  refreshBody,
  registerBody,
  sessionSchema,
  tokenPairSchema,
} from '../schemas.js';

export function authRoutes(accounts: AccountService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/auth/register',
      tag: 'auth',
      summary: 'Create an account and start a session',
      auth: false,
      body: registerBody,
      responses: { 201: { description: 'registered', schema: sessionSchema } },
      errors: [400, 409, 429],
      handler: async ({ body, ip }) => ({ status: 201, body: await accounts.register(body, ip) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/login',
      tag: 'auth',
      summary: 'Log in with username or email',
      auth: false,
      body: loginBody,
      responses: { 200: { description: 'logged in', schema: sessionSchema } },
      errors: [400, 401, 429],
      handler: async ({ body, ip }) => ({
        status: 200,
        body: await accounts.login(body.login, body.password, ip),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      tag: 'auth',
      summary:
        'Exchange a refresh token for a new token pair (the old refresh token stops working)',
      auth: false,
      body: refreshBody,
      responses: { 200: { description: 'new tokens', schema: tokenPairSchema } },
      errors: [400, 401, 429],
      handler: async ({ body }) => ({
        status: 200,
        body: await accounts.refresh(body.refreshToken),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      tag: 'auth',
      summary: 'End the session the refresh token belongs to',
      auth: false,
      body: refreshBody,
      responses: { 204: { description: 'logged out' } },
      errors: [400, 429],
      handler: async ({ body }) => {
        await accounts.logout(body.refreshToken);
        return { status: 204 };
      },
    }),
  ];
}
