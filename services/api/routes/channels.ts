import { z } from 'zod';
import type { ChannelService } from '../../chat/channels.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';
import {
  addMemberBody,
  channelListQuery,
  channelSchema,
  createChannelBody,
  idParams,
  memberChannelSchema,
  memberParams,
  memberSchema,
  patchChannelBody,
  publicChannelSchema,
} from '../schemas.js';

export function channelRoutes(channels: ChannelService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/channels',
      tag: 'channels',
      summary: 'Create a channel (direct: returns the existing one for the pair with 200)',
      body: createChannelBody,
      responses: {
        201: { description: 'created', schema: channelSchema },
        200: { description: 'the existing direct channel', schema: channelSchema },
      },
      errors: [400, 401, 404],
      handler: async ({ caller, body }) => {
        const { channel, created } = await channels.create(caller.userId, body);
        return { status: created ? 201 : 200, body: channel };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/channels',
      tag: 'channels',
      summary:
        'The caller’s channels with unread counts (scope=public lists public channels to join)',
      query: channelListQuery,
      responses: {
        200: {
          description: 'channels',
          schema: z.object({
            channels: z.union([z.array(memberChannelSchema), z.array(publicChannelSchema)]),
          }),
        },
      },
      errors: [400, 401],
      handler: async ({ caller, query }) => ({
        status: 200,
        body: {
          channels:
            query.scope === 'public'
              ? await channels.listPublic(caller.userId, query.q, query.limit)
              : await channels.listForUser(caller.userId),
        },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/channels/:id',
      tag: 'channels',
      summary: 'A channel the caller can see',
      params: idParams,
      responses: { 200: { description: 'channel', schema: channelSchema } },
      errors: [400, 401, 404],
      handler: async ({ caller, params }) => ({
        status: 200,
        body: await channels.get(caller.userId, params.id),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/channels/:id',
      tag: 'channels',
      summary: 'Rename or describe a channel (owner/admin)',
      params: idParams,
      body: patchChannelBody,
      responses: { 200: { description: 'channel', schema: channelSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params, body }) => ({
        status: 200,
        body: await channels.update(caller.userId, params.id, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/channels/:id',
      tag: 'channels',
      summary: 'Delete a channel and its history (owner)',
      params: idParams,
      responses: { 204: { description: 'deleted' } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        await channels.remove(caller.userId, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/channels/:id/join',
      tag: 'channels',
      summary: 'Join a public channel (idempotent)',
      params: idParams,
      responses: { 200: { description: 'channel', schema: channelSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => ({
        status: 200,
        body: await channels.join(caller.userId, params.id),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/channels/:id/leave',
      tag: 'channels',
      summary: 'Leave a channel (the owner deletes it instead)',
      params: idParams,
      responses: { 204: { description: 'left' } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        await channels.leave(caller.userId, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/channels/:id/members',
      tag: 'channels',
      summary: 'Members of a channel',
      params: idParams,
      responses: {
        200: { description: 'members', schema: z.object({ members: z.array(memberSchema) }) },
      },
      errors: [400, 401, 404],
      handler: async ({ caller, params }) => ({
        status: 200,
        body: { members: await channels.members(caller.userId, params.id) },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/channels/:id/members',
      tag: 'channels',
      summary: 'Add a member (owner/admin; only the owner adds admins)',
      params: idParams,
      body: addMemberBody,
      responses: { 201: { description: 'member', schema: memberSchema } },
      errors: [400, 401, 403, 404, 409],
      handler: async ({ caller, params, body }) => ({
        status: 201,
        body: await channels.addMember(caller.userId, params.id, body.userId, body.role),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/channels/:id/members/:userId',
      tag: 'channels',
      summary: 'Remove a member (owner/admin, or yourself)',
      params: memberParams,
      responses: { 204: { description: 'removed' } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        await channels.removeMemberAs(caller.userId, params.id, params.userId);
        return { status: 204 };
      },
    }),
  ];
}
