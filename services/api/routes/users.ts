import { z } from 'zod';
import type { AccountService } from '../../chat/accounts.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';
import {
  idParams,
  ownUserSchema,
  profilePatchBody,
  userSchema,
  userSearchQuery,
} from '../schemas.js';

export function userRoutes(accounts: AccountService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users/me',
      tag: 'users',
      summary: 'The caller’s own profile',
      responses: { 200: { description: 'profile', schema: ownUserSchema } },
      errors: [401],
      handler: async ({ caller }) => ({ status: 200, body: await accounts.me(caller.userId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/me',
      tag: 'users',
      summary: 'Update display name, avatar or status message',
      body: profilePatchBody,
      responses: { 200: { description: 'updated profile', schema: ownUserSchema } },
      errors: [400, 401],
      handler: async ({ caller, body }) => ({
        status: 200,
        body: await accounts.updateMe(caller.userId, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/users',
      tag: 'users',
      summary: 'Search users by username or display name prefix',
      query: userSearchQuery,
      responses: {
        200: { description: 'matching users', schema: z.object({ users: z.array(userSchema) }) },
      },
      errors: [400, 401],
      handler: async ({ query }) => ({
        status: 200,
        body: { users: await accounts.search(query.q, query.limit) },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      tag: 'users',
      summary: 'A user’s public profile',
      params: idParams,
      responses: { 200: { description: 'profile', schema: userSchema } },
      errors: [400, 401, 404],
      handler: async ({ params }) => ({ status: 200, body: await accounts.get(params.id) }),
    }),
  ];
}
