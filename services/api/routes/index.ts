import type { RoleContext } from '../../role.js';
import type { AnyRouteSpec } from '../route-table.js';
import { authRoutes } from './auth.js';
import { channelRoutes } from './channels.js';
import { deviceRoutes } from './devices.js';
import { emailRoutes } from './email.js';
import { messageRoutes } from './messages.js';
import { userRoutes } from './users.js';

/** The routes the api role serves. */
export function coreRoutes(ctx: RoleContext): AnyRouteSpec[] {
  return [
    ...authRoutes(ctx.accounts),
    ...userRoutes(ctx.accounts),
    ...channelRoutes(ctx.channels),
    ...messageRoutes(ctx.messages),
    ...deviceRoutes(ctx.devices),
    ...emailRoutes(ctx.devices, ctx.unsubscribeTokens),
  ];
}
