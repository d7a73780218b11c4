import type { Member, Message } from '../../../services/client/index.js';
import {
  channelTitle,
  directPartner,
  mergeMessages,
  seenBy,
  sortChannels,
  typingLine,
  unreadCount,
} from '../../../web/src/chat-model.js';

const ME = 'me';
function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    channelId: 'c',
    seq,
    sender: { id: 'ann', username: 'ann', displayName: 'Ann' },
    content: `text ${seq}`,
    clientMsgId: `cm${seq}`,
    replyTo: null,
    createdAt: '2026-01-01T10:00:00.000Z',
    editedAt: null,
    deletedAt: null,
    ...over,
  };
}
const member = (userId: string, displayName: string): Member => ({
  userId,
  username: displayName.toLowerCase(),
  displayName,
  role: 'member',
  joinedAt: '2026-01-01T00:00:00.000Z',
});

describe('mergeMessages', () => {
  it('orders by seq and keeps one entry per seq when a history page overlaps live messages', () => {
    const live = [msg(5), msg(6)];
    const page = [msg(3), msg(4), msg(5)];
    expect(mergeMessages(live, page).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
  });

  it('keeps an edit even when an older copy of the message arrives after it', () => {
    const edited = msg(2, { content: 'fixed', editedAt: '2026-01-01T10:05:00.000Z' });
    const merged = mergeMessages([msg(1), edited], [msg(2)]);
    expect(merged.find((m) => m.seq === 2)?.content).toBe('fixed');
  });

  it('lets a deletion win over any edit', () => {
    const deleted = msg(2, { content: '', deletedAt: '2026-01-01T10:01:00.000Z' });
    const laterEdit = msg(2, { content: 'edited', editedAt: '2026-01-01T10:09:00.000Z' });
    expect(mergeMessages([deleted], [laterEdit])[0]?.deletedAt).not.toBeNull();
    expect(mergeMessages([laterEdit], [deleted])[0]?.content).toBe('');
  });
});

describe('unread and titles', () => {
  it('counts messages past the read pointer, never below zero', () => {
    expect(unreadCount(10, 7)).toBe(3);
    expect(unreadCount(7, 9)).toBe(0);
  });

  it('names a direct channel after the other person, and a channel by its name', () => {
    const members = [member(ME, 'Me'), member('bob', 'Bob')];
    expect(channelTitle({ id: 'd', name: null, type: 'direct' }, members, ME)).toBe('Bob');
    expect(channelTitle({ id: 'd', name: null, type: 'direct' }, undefined, ME)).toBe(
      'Direct message',
    );
    expect(channelTitle({ id: 'c', name: 'general', type: 'public' }, members, ME)).toBe('general');
    expect(directPartner(members, ME)).toBe('bob');
  });

  it('lists channels before direct messages, each alphabetically', () => {
    const list = [
      { id: '1', name: null, type: 'direct' as const, title: 'Zoe' },
      { id: '2', name: 'beta', type: 'private' as const, title: 'beta' },
      { id: '3', name: null, type: 'direct' as const, title: 'Adam' },
      { id: '4', name: 'alpha', type: 'public' as const, title: 'alpha' },
    ];
    expect(sortChannels(list, (c) => c.title).map((c) => c.title)).toEqual([
      'alpha',
      'beta',
      'Adam',
      'Zoe',
    ]);
  });
});

describe('typingLine', () => {
  const names = new Map([
    ['ann', 'Ann'],
    ['bob', 'Bob'],
    ['cid', 'Cid'],
  ]);
  it('never reports the reader themself', () => {
    expect(typingLine([ME], ME, names)).toBeUndefined();
    expect(typingLine([ME, 'ann'], ME, names)).toBe('Ann is typing…');
  });
  it('names two people and counts more', () => {
    expect(typingLine(['ann', 'bob'], ME, names)).toBe('Ann and Bob are typing…');
    expect(typingLine(['ann', 'bob', 'cid'], ME, names)).toBe('3 people are typing…');
    expect(typingLine(['stranger'], ME, names)).toBe('Someone is typing…');
  });
});

describe('seenBy', () => {
  const names = new Map([
    ['ann', 'Ann'],
    ['bob', 'Bob'],
  ]);
  const mine = (seq: number) => msg(seq, { sender: { id: ME, username: 'me', displayName: 'Me' } });

  it('marks the newest own message that others have read, with who read it', () => {
    const messages = [mine(1), msg(2), mine(3), mine(4)];
    const pointers = new Map([
      ['ann', 3],
      ['bob', 4],
    ]);
    expect(seenBy(messages, ME, pointers, names)).toEqual({ seq: 4, names: ['Bob'] });
    pointers.set('ann', 4);
    expect(seenBy(messages, ME, pointers, names)).toEqual({ seq: 4, names: ['Ann', 'Bob'] });
  });

  it('says nothing when nobody else has read an own message, and ignores the reader’s own pointer', () => {
    expect(seenBy([mine(1), mine(2)], ME, new Map([[ME, 2]]), names)).toBeUndefined();
    expect(seenBy([msg(1)], ME, new Map([['ann', 1]]), names)).toBeUndefined();
  });

  it('skips deleted own messages', () => {
    const messages = [
      mine(1),
      msg(2, {
        sender: { id: ME, username: 'me', displayName: 'Me' },
        deletedAt: '2026-01-01T10:00:00.000Z',
      }),
    ];
    expect(seenBy(messages, ME, new Map([['ann', 2]]), names)).toEqual({ seq: 1, names: ['Ann'] });
  });
});
