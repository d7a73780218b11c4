import { checkContent } from '../../../services/chat/messages.js';
import type { MemberRole } from '../../../services/chat/model.js';
import {
  canAddMember,
  canDeleteChannel,
  canDeleteMessage,
  canEditMessage,
  canJoin,
  canManageChannel,
  canRemoveMember,
  directKey,
  extractMentions,
  isAtLeast,
  membershipIsFixed,
  planPage,
  trimPage,
  unreadCount,
} from '../../../services/chat/rules.js';
import { AppError } from '../../../services/core/errors.js';

const ROLES: (MemberRole | undefined)[] = [undefined, 'member', 'admin', 'owner'];

describe('roles', () => {
  test.each([
    [undefined, 'member', false],
    ['member', 'member', true],
    ['member', 'admin', false],
    ['admin', 'member', true],
    ['admin', 'admin', true],
    ['admin', 'owner', false],
    ['owner', 'owner', true],
    ['owner', 'member', true],
  ] as const)('isAtLeast(%s, %s) is %s', (role, needed, expected) => {
    expect(isAtLeast(role, needed)).toBe(expected);
  });

  test('managing a channel needs admin; deleting it needs the owner', () => {
    expect(ROLES.map(canManageChannel)).toEqual([false, false, true, true]);
    expect(ROLES.map(canDeleteChannel)).toEqual([false, false, false, true]);
  });

  test.each([
    // actor, new member's role, allowed
    [undefined, 'member', false],
    ['member', 'member', false],
    ['admin', 'member', true],
    ['admin', 'admin', false],
    ['owner', 'member', true],
    ['owner', 'admin', true],
    ['owner', 'owner', false],
    ['admin', 'owner', false],
  ] as const)('canAddMember(%s adds a %s) is %s', (actor, role, expected) => {
    expect(canAddMember(actor, role)).toBe(expected);
  });

  test.each([
    // actor, target, self, allowed
    ['member', 'member', true, true],
    ['admin', 'admin', true, true],
    ['owner', 'owner', true, false],
    [undefined, 'member', false, false],
    ['member', 'member', false, false],
    ['member', 'admin', false, false],
    ['admin', 'member', false, true],
    ['admin', 'admin', false, false],
    ['admin', 'owner', false, false],
    ['owner', 'member', false, true],
    ['owner', 'admin', false, true],
  ] as const)('canRemoveMember(%s removes %s, self=%s) is %s', (actor, target, self, expected) => {
    expect(canRemoveMember(actor, target, self)).toBe(expected);
  });
});

describe('messages', () => {
  test('only the author edits, and never a deleted message', () => {
    expect(canEditMessage('a', 'a', false)).toBe(true);
    expect(canEditMessage('a', 'a', true)).toBe(false);
    expect(canEditMessage('b', 'a', false)).toBe(false);
  });

  test('the author or an owner/admin deletes', () => {
    expect(canDeleteMessage('a', 'a', 'member')).toBe(true);
    expect(ROLES.map((r) => canDeleteMessage('b', 'a', r))).toEqual([false, false, true, true]);
  });

  test('content: up to 4,000 characters as a person counts them, not blank', () => {
    expect(() => checkContent('x'.repeat(4000))).not.toThrow();
    expect(() => checkContent('🎉'.repeat(4000))).not.toThrow();
    const tooLong = () => checkContent('x'.repeat(4001));
    expect(tooLong).toThrow(AppError);
    expect(tooLong).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    for (const blank of ['', ' ', '\n\t '])
      expect(() => checkContent(blank)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });

  test.each([
    ['hi @alice and @Bob', ['alice', 'bob']],
    ['@alice @alice @ALICE', ['alice']],
    ['mail me at bob@example.com', []],
    ['(@carol), @dave.', ['carol', 'dave']],
    ['@@eve', []],
    ['no mentions', []],
  ])('extractMentions(%j) is %j', (content, expected) => {
    expect(extractMentions(content)).toEqual(expected);
  });
});

describe('channels', () => {
  test('only public channels can be joined; only direct channels have fixed members', () => {
    expect(canJoin('public')).toBe(true);
    expect(canJoin('private')).toBe(false);
    expect(canJoin('direct')).toBe(false);
    expect(membershipIsFixed('direct')).toBe(true);
    expect(membershipIsFixed('private')).toBe(false);
  });

  test('directKey is the same for both orders and differs between pairs', () => {
    const a = '00000000-0000-4000-8000-00000000000a';
    const b = '00000000-0000-4000-8000-00000000000b';
    const c = '00000000-0000-4000-8000-00000000000c';
    expect(directKey(a, b)).toBe(directKey(b, a));
    expect(directKey(a, b)).not.toBe(directKey(a, c));
  });

  test.each([
    [10, 0, 10],
    [10, 4, 6],
    [10, 10, 0],
    // A pointer ahead of the channel (it was capped elsewhere) never gives a negative count.
    [3, 5, 0],
  ])('unreadCount(lastSeq %i, lastReadSeq %i) is %i', (lastSeq, lastRead, expected) => {
    expect(unreadCount(lastSeq, lastRead)).toBe(expected);
  });
});

describe('history pages', () => {
  test('without afterSeq a page reads backward (newest first, before beforeSeq if given)', () => {
    expect(planPage({ limit: 50 })).toEqual({ kind: 'before', limit: 50 });
    expect(planPage({ beforeSeq: 10, limit: 5 })).toEqual({
      kind: 'before',
      beforeSeq: 10,
      limit: 5,
    });
  });

  test('with afterSeq a page reads forward, bounded by beforeSeq if given', () => {
    expect(planPage({ afterSeq: 0, limit: 5 })).toEqual({ kind: 'after', afterSeq: 0, limit: 5 });
    expect(planPage({ afterSeq: 3, beforeSeq: 9, limit: 5 })).toEqual({
      kind: 'after',
      afterSeq: 3,
      beforeSeq: 9,
      limit: 5,
    });
  });

  test.each([
    [0, 3, 0, false],
    [3, 3, 3, false],
    [4, 3, 3, true],
    [1, 1, 1, false],
    [2, 1, 1, true],
  ])(
    'trimPage of %i rows fetched for limit %i keeps %i, hasMore %s',
    (rows, limit, kept, hasMore) => {
      const result = trimPage(
        Array.from({ length: rows }, (_, i) => i),
        limit,
      );
      expect(result.items).toEqual(Array.from({ length: kept }, (_, i) => i));
      expect(result.hasMore).toBe(hasMore);
    },
  );
});
