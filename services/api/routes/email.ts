import { z } from 'zod';
import type { DeviceService } from '../../chat/devices.js';
import type { UnsubscribeTokens } from '../../chat/email-unsubscribe.js';
import { AppError } from '../../core/errors.js';
import { defineRoute, type AnyRouteSpec } from '../route-table.js';

const unsubscribeQuery = z.object({
  token: z.string().min(1).max(200).describe('the signed token from the email link'),
});

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${title}</title></head>` +
    `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">` +
    `<h1 style="font-size:1.4rem">${title}</h1>${body}</body></html>`
  );
}

/**
 * One-click unsubscribe from email digests (RFC 8058): the link in every digest carries a
 * signed token, so neither endpoint needs a session. GET only shows a confirmation (mail
 * scanners fetch links), POST turns email digests off; mail clients POST
 * `List-Unsubscribe=One-Click` to the same URL.
 */
export function emailRoutes(devices: DeviceService, tokens: UnsubscribeTokens): AnyRouteSpec[] {
  const userOf = (token: string) => {
    const userId = tokens.verify(token);
    if (!userId)
      throw new AppError('VALIDATION', 'this unsubscribe link is not valid', {
        fields: [{ path: 'token', message: 'not a valid unsubscribe token' }],
      });
    return userId;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/email/unsubscribe',
      tag: 'devices',
      summary: 'Confirmation page of the unsubscribe link in digest emails (changes nothing)',
      auth: false,
      query: unsubscribeQuery,
      responses: { 200: { description: 'a page with a button that POSTs', html: true } },
      errors: [400],
      handler: async ({ query }) => {
        userOf(query.token);
        const action = `?${new URLSearchParams({ token: query.token }).toString()}`;
        return {
          status: 200,
          html: page(
            'Stop email notifications?',
            `<p>You will get no more emails about messages you missed. Push notifications are not affected.</p>` +
              `<form method="post" action="${action.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">` +
              `<input type="hidden" name="List-Unsubscribe" value="One-Click">` +
              `<button type="submit">Unsubscribe</button></form>`,
          ),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/email/unsubscribe',
      tag: 'devices',
      summary:
        'One-click unsubscribe (RFC 8058): sets the email preference to off; any body is ignored',
      auth: false,
      query: unsubscribeQuery,
      responses: { 200: { description: 'unsubscribed', html: true } },
      errors: [400, 404],
      handler: async ({ query }) => {
        const userId = userOf(query.token);
        if (!(await devices.turnEmailOff(userId)))
          throw new AppError('NOT_FOUND', 'this account no longer exists');
        return {
          status: 200,
          html: page(
            'You are unsubscribed',
            `<p>You will get no more email notifications. You can turn them back on in your notification preferences.</p>`,
          ),
        };
      },
    }),
  ];
}
