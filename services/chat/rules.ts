// Pure decisions about who may do what and which rows a page covers. No I/O, unit tested.
import type { ChannelType, MemberRole } from './model.js';

const RANK: Record<MemberRole, number> = { member: 0, admin: 1, owner: 2 };

export function isAtLeast(role: MemberRole | undefined, needed: MemberRole): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

export function canManageChannel(role: MemberRole | undefined): boolean {
  return isAtLeast(role, 'admin');
}

export function canDeleteChannel(role: MemberRole | undefined): boolean {
  return role === 'owner';
}

/** Admins may add plain members; only the owner may add admins; nobody is added as owner. */
export function canAddMember(actor: MemberRole | undefined, newRole: MemberRole): boolean {
  if (newRole === 'owner') return false; // ownership is never granted by adding someone
  if (newRole === 'admin') return actor === 'owner';
  return isAtLeast(actor, 'admin');
}

/**
 * Removing a member: anyone may remove themselves (the owner must delete the channel instead),
 * admins may remove plain members, the owner may remove anyone but themselves.
 */
export function canRemoveMember(
  actor: MemberRole | undefined,
  target: MemberRole,
  self: boolean,
): boolean {
  if (self) return target !== 'owner';
  if (actor === 'owner') return target !== 'owner';
  if (actor === 'admin') return target === 'member';
  return false;
}

export function canEditMessage(actorId: string, senderId: string, deleted: boolean): boolean {
  return !deleted && actorId === senderId;
}

export function canDeleteMessage(
  actorId: string,
  senderId: string,
  actorRole: MemberRole | undefined,
): boolean {
  return actorId === senderId || isAtLeast(actorRole, 'admin');
}

/** Only public channels can be joined without an invitation; direct channels never change members. */
export function canJoin(type: ChannelType): boolean {
  return type === 'public';
}

export function membershipIsFixed(type: ChannelType): boolean {
  return type === 'direct';
}

/** Direct channels are unique per unordered pair of users. */
export function directKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

export interface PageRequest {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
}

export type PageQuery =
  | { kind: 'after'; afterSeq: number; beforeSeq?: number; limit: number }
  | { kind: 'before'; beforeSeq?: number; limit: number };

/**
 * How to read a page of history ordered by seq. With afterSeq we read forward from it (catch-up);
 * otherwise we read backward from beforeSeq, or from the newest message, and return the page in
 * ascending order. One extra row is fetched to know whether more exist beyond the page.
 */
export function planPage(req: PageRequest): PageQuery {
  if (req.afterSeq !== undefined) {
    return {
      kind: 'after',
      afterSeq: req.afterSeq,
      ...(req.beforeSeq === undefined ? {} : { beforeSeq: req.beforeSeq }),
      limit: req.limit,
    };
  }
  return {
    kind: 'before',
    ...(req.beforeSeq === undefined ? {} : { beforeSeq: req.beforeSeq }),
    limit: req.limit,
  };
}

/** Given rows fetched with limit + 1, trims to the page and reports whether more remain. */
export function trimPage<T>(rows: T[], limit: number): { items: T[]; hasMore: boolean } {
  return { items: rows.slice(0, limit), hasMore: rows.length > limit };
}

export function unreadCount(lastSeq: number, lastReadSeq: number): number {
  return Math.max(0, lastSeq - lastReadSeq);
}

/** `@username` mentions in a message, lower-cased and de-duplicated. */
export function extractMentions(content: string): string[] {
  const names = new Set<string>();
  for (const match of content.matchAll(/(?:^|[^\w@])@([A-Za-z0-9_.-]{1,32})/g)) {
    names.add(match[1]!.toLowerCase().replace(/[.-]+$/, ''));
  }
  return [...names];
}
