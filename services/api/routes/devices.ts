import { z } from 'zod';
import type { DeviceService } from '../../chat/devices.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';
import {
  deviceBody,
  deviceParams,
  deviceSchema,
  preferencesBody,
  preferencesSchema,
} from '../schemas.js';

export function deviceRoutes(devices: DeviceService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/devices',
      tag: 'devices',
      summary: 'Register a push token for the caller',
      body: deviceBody,
      responses: { 201: { description: 'registered', schema: deviceSchema } },
      errors: [400, 401],
      handler: async ({ caller, body }) => ({
        status: 201,
        body: await devices.register(caller.userId, body.token, body.platform),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/devices',
      tag: 'devices',
      summary: 'The caller’s registered push tokens',
      responses: {
        200: { description: 'devices', schema: z.object({ devices: z.array(deviceSchema) }) },
      },
      errors: [401],
      handler: async ({ caller }) => ({
        status: 200,
        body: { devices: await devices.list(caller.userId) },
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/devices/:token',
      tag: 'devices',
      summary: 'Unregister a push token',
      params: deviceParams,
      responses: { 204: { description: 'removed' } },
      errors: [400, 401, 404],
      handler: async ({ caller, params }) => {
        await devices.unregister(caller.userId, params.token);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/notification-preferences',
      tag: 'devices',
      summary: 'The caller’s notification preferences',
      responses: { 200: { description: 'preferences', schema: preferencesSchema } },
      errors: [401],
      handler: async ({ caller }) => ({
        status: 200,
        body: await devices.preferences(caller.userId),
      }),
    }),
    defineRoute({
      method: 'put',
      path: '/notification-preferences',
      tag: 'devices',
      summary:
        'Set muteAll, the email digest level and per-channel levels (channels not listed keep theirs)',
      body: preferencesBody,
      responses: { 200: { description: 'preferences', schema: preferencesSchema } },
      errors: [400, 401, 404],
      handler: async ({ caller, body }) => ({
        status: 200,
        body: await devices.updatePreferences(caller.userId, body),
      }),
    }),
  ];
}
