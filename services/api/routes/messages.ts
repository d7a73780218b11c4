import { z } from 'zod';
import type { MessageService } from '../../chat/messages.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';
import {
  editMessageBody,
  historyQuery,
  idParams,
  messagePageSchema,
  messageSchema,
  readBody,
  searchQuery,
  sendMessageBody,
} from '../schemas.js';

export function messageRoutes(messages: MessageService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/channels/:id/messages',
      tag: 'messages',
      summary: 'Send a message (idempotent on clientMsgId: a retry returns the original with 200)',
      params: idParams,
      body: sendMessageBody,
      responses: {
        201: { description: 'accepted and durable', schema: messageSchema },
        200: { description: 'already accepted earlier', schema: messageSchema },
      },
      errors: [400, 401, 403, 404, 413, 429],
      handler: async ({ caller, params, body }) => {
        const { message, created } = await messages.send(caller.userId, {
          channelId: params.id,
          clientMsgId: body.clientMsgId,
          content: body.content,
          replyTo: body.replyTo ?? undefined,
        });
        return { status: created ? 201 : 200, body: message };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/channels/:id/messages',
      tag: 'messages',
      summary: 'History page ordered by seq ascending (default: the newest page)',
      params: idParams,
      query: historyQuery,
      responses: { 200: { description: 'page', schema: messagePageSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params, query }) => ({
        status: 200,
        body: await messages.page(caller.userId, params.id, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/channels/:id/read',
      tag: 'messages',
      summary: 'Move the caller’s read pointer forward',
      params: idParams,
      body: readBody,
      responses: { 204: { description: 'recorded' } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params, body }) => {
        await messages.markRead(caller.userId, params.id, body.seq);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/messages/:id',
      tag: 'messages',
      summary: 'A message in a channel the caller belongs to',
      params: idParams,
      responses: { 200: { description: 'message', schema: messageSchema } },
      errors: [400, 401, 404],
      handler: async ({ caller, params }) => ({
        status: 200,
        body: await messages.get(caller.userId, params.id),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/messages/:id',
      tag: 'messages',
      summary: 'Edit your own message',
      params: idParams,
      body: editMessageBody,
      responses: { 200: { description: 'edited message', schema: messageSchema } },
      errors: [400, 401, 403, 404, 413],
      handler: async ({ caller, params, body }) => ({
        status: 200,
        body: await messages.edit(caller.userId, params.id, body.content),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/messages/:id',
      tag: 'messages',
      summary: 'Soft-delete a message (author, or channel owner/admin)',
      params: idParams,
      responses: { 204: { description: 'deleted' } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        await messages.remove(caller.userId, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/search',
      tag: 'messages',
      summary: 'Full-text search over the caller’s channels, best match first',
      query: searchQuery,
      responses: {
        200: { description: 'matches', schema: z.object({ messages: z.array(messageSchema) }) },
      },
      errors: [400, 401],
      handler: async ({ caller, query }) => ({
        status: 200,
        body: {
          messages: await messages.search(caller.userId, query.q, query.channelId, query.limit),
        },
      }),
    }),
  ];
}
