import type { Knex } from 'knex';
import { AppError } from '../core/errors.js';
import type { RateLimits } from '../core/rate-limits.js';
import { requireMember } from './access.js';
import type { ChatFanout } from './fanout.js';
import {
  GroupCommit,
  GroupCommitBusyError,
  GroupCommitClosedError,
  type GroupCommitHooks,
  type GroupCommitLimits,
  type Outcome,
} from './group-commit.js';
import { MAX_MESSAGE_LENGTH, toMessage, type Message, type MessageRow } from './model.js';
import {
  receiptEvent,
  TOPICS,
  writeMessageEvent,
  writeOutbox,
  type OutboxWakeup,
} from './outbox.js';
import { canDeleteMessage, canEditMessage, planPage, trimPage } from './rules.js';
import { SendWriter, sendRequestBytes, type SendRequest, type SendStatus } from './send-writer.js';

export interface SendInput {
  channelId: string;
  clientMsgId: string;
  content: string;
  replyTo?: string | undefined;
}

export interface SendResult {
  message: Message;
  /** false when clientMsgId had already been accepted: `message` is the original. */
  created: boolean;
}

export interface PageResult {
  messages: Message[];
  hasMore: boolean;
}

/** Content limits are counted in Unicode code points, as a person counts characters. */
export function checkContent(content: string): void {
  if ([...content].length > MAX_MESSAGE_LENGTH) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `content is limited to ${MAX_MESSAGE_LENGTH} characters`,
      { maxLength: MAX_MESSAGE_LENGTH },
    );
  }
  if (content.trim().length === 0) {
    throw new AppError('VALIDATION', 'request failed validation', {
      fields: [{ path: 'content', message: 'must not be empty' }],
    });
  }
}

/** A send as its batch wrote it: the status, and the message when there is one. */
interface WrittenSend {
  status: SendStatus;
  message: Message | undefined;
}

export interface SendOptions {
  /**
   * The caller already knows the sender belongs to the channel (a socket in the channel's
   * room), so the membership query before the rate limits is skipped. The write checks
   * membership again in any case: a stale hint costs a rate-limit point, never access.
   */
  knownMember?: boolean;
}

/** Defaults of SEND_BATCH_* (README): small enough to stay within one round trip's work. */
export const DEFAULT_SEND_BATCH: GroupCommitLimits = {
  maxItems: 256,
  maxBytes: 1024 * 1024,
  maxWaitMs: 5,
  maxInFlight: 4,
};

export interface MessageServiceOptions {
  sendBatch?: GroupCommitLimits;
  sendBatchHooks?: GroupCommitHooks;
}

export class MessageService {
  /** Every send, REST or socket, goes through this one per-process group commit. */
  private readonly sends: GroupCommit<SendRequest, WrittenSend>;

  constructor(
    private readonly db: Knex,
    private readonly fanout: ChatFanout,
    private readonly limits: RateLimits,
    private readonly outboxWakeup: OutboxWakeup,
    options: MessageServiceOptions = {},
  ) {
    const writer = new SendWriter(db);
    this.sends = new GroupCommit(
      options.sendBatch ?? DEFAULT_SEND_BATCH,
      (requests) => this.writeSends(writer, requests),
      sendRequestBytes,
      options.sendBatchHooks,
    );
  }

  /**
   * One batch: written and committed, then the relay is woken once, the senders are answered
   * and the new messages are handed to the realtime layer in seq order.
   */
  private async writeSends(
    writer: SendWriter,
    requests: SendRequest[],
  ): Promise<Outcome<WrittenSend>[]> {
    const outcomes = await writer.write(requests);
    const created: Message[] = [];
    const answers = outcomes.map((o): Outcome<WrittenSend> => {
      if (!o.ok) return o;
      const { status } = o.value;
      const message =
        status === 'created' || status === 'duplicate' ? toMessage(o.value) : undefined;
      if (status === 'created') created.push(message!);
      return { ok: true, value: { status, message } };
    });
    if (created.length > 0) {
      this.outboxWakeup.poke();
      // On the next turn, after the acks that this batch's answers resolve in this one: a
      // sender's ack never waits behind the emit to thousands of local sockets, and the next
      // batch's round trip runs while this one fans out. Turns run in order, so batches still
      // reach the realtime layer in commit order.
      setImmediate(() => this.fanout.messagesCreated(created));
    }
    return answers;
  }

  /**
   * Writes the sends already accepted and refuses new ones (shutdown); resolves once their
   * messages have reached the realtime layer too.
   */
  async close(): Promise<void> {
    await this.sends.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private messageQuery(db: Knex = this.db) {
    return db('messages as m')
      .join('users as u', 'u.id', 'm.sender_id')
      .select(
        'm.id',
        'm.channel_id',
        'm.seq',
        'm.sender_id',
        'u.username as sender_username',
        'u.display_name as sender_display_name',
        'm.content',
        'm.client_msg_id',
        'm.reply_to',
        'm.created_at',
        'm.edited_at',
        'm.deleted_at',
      );
  }

  private async findByClientId(
    channelId: string,
    senderId: string,
    clientMsgId: string,
    db: Knex = this.db,
  ): Promise<Message | undefined> {
    const row = (await this.messageQuery(db)
      .where({ 'm.channel_id': channelId, 'm.sender_id': senderId, 'm.client_msg_id': clientMsgId })
      .first()) as MessageRow | undefined;
    return row && toMessage(row);
  }

  /**
   * The single path by which a message enters a channel, for REST and sockets alike. After the
   * checks that need no lock, the send joins this process's group commit: one call to
   * signalink_send_messages (migration 0005) writes it with whatever else arrived meanwhile,
   * taking the next seqs from the channel rows, inserting the messages, their outbox events and
   * the senders' read pointers in one transaction. Seqs are gap-free, a retried clientMsgId
   * returns the original, and the answer comes only after the commit.
   */
  async send(senderId: string, input: SendInput, options: SendOptions = {}): Promise<SendResult> {
    checkContent(input.content);
    // Membership first, so nobody outside a channel can spend its rate limit.
    if (!options.knownMember) await requireMember(this.db, senderId, input.channelId);
    try {
      await Promise.all([
        this.limits.consume('message', senderId),
        this.limits.consume('channelMessage', input.channelId),
      ]);
    } catch (err) {
      // A retry of a message that was already accepted gets its answer even when over the limit.
      const original = await this.findByClientId(input.channelId, senderId, input.clientMsgId);
      if (original) return { message: original, created: false };
      throw err;
    }
    let written: WrittenSend;
    try {
      written = await this.sends.submit({
        senderId,
        channelId: input.channelId,
        clientMsgId: input.clientMsgId,
        content: input.content,
        replyTo: input.replyTo ?? null,
      });
    } catch (err) {
      if (err instanceof GroupCommitClosedError)
        throw new AppError('UNAVAILABLE', 'the server is shutting down; send again');
      if (err instanceof GroupCommitBusyError)
        throw new AppError('UNAVAILABLE', 'too many sends are waiting to be written; send again');
      throw err;
    }
    return answer(written);
  }

  async page(
    userId: string,
    channelId: string,
    req: { afterSeq?: number | undefined; beforeSeq?: number | undefined; limit: number },
  ): Promise<PageResult> {
    await requireMember(this.db, userId, channelId);
    const plan = planPage({
      ...(req.afterSeq === undefined ? {} : { afterSeq: req.afterSeq }),
      ...(req.beforeSeq === undefined ? {} : { beforeSeq: req.beforeSeq }),
      limit: req.limit,
    });
    const q = this.messageQuery()
      .where('m.channel_id', channelId)
      .limit(plan.limit + 1);
    if (plan.kind === 'after') {
      q.where('m.seq', '>', plan.afterSeq).orderBy('m.seq', 'asc');
      if (plan.beforeSeq !== undefined) q.where('m.seq', '<', plan.beforeSeq);
      const { items, hasMore } = trimPage((await q) as MessageRow[], plan.limit);
      return { messages: items.map(toMessage), hasMore };
    }
    if (plan.beforeSeq !== undefined) q.where('m.seq', '<', plan.beforeSeq);
    q.orderBy('m.seq', 'desc');
    const { items, hasMore } = trimPage((await q) as MessageRow[], plan.limit);
    return { messages: items.reverse().map(toMessage), hasMore };
  }

  /**
   * Committed messages with afterSeq < seq < beforeSeq, ascending, without an authorization
   * check: for the gateway filling delivery gaps of a channel its sockets already belong to.
   */
  async range(
    channelId: string,
    afterSeq: number,
    beforeSeq: number | undefined,
    limit = 500,
  ): Promise<Message[]> {
    const q = this.messageQuery()
      .where('m.channel_id', channelId)
      .where('m.seq', '>', afterSeq)
      .orderBy('m.seq', 'asc')
      .limit(limit);
    if (beforeSeq !== undefined) q.where('m.seq', '<', beforeSeq);
    return ((await q) as MessageRow[]).map(toMessage);
  }

  /** The committed head (last seq) of each channel. */
  async heads(channelIds: string[]): Promise<{ channelId: string; lastSeq: number }[]> {
    if (channelIds.length === 0) return [];
    const rows = (await this.db('channels').whereIn('id', channelIds).select('id', 'last_seq')) as {
      id: string;
      last_seq: number;
    }[];
    return rows.map((r) => ({ channelId: r.id, lastSeq: Number(r.last_seq) }));
  }

  /** Throws NOT_FOUND / FORBIDDEN unless the user belongs to the channel. */
  async requireMember(userId: string, channelId: string): Promise<void> {
    await requireMember(this.db, userId, channelId);
  }

  /** A message by id, for members of its channel; anything else is not found. */
  async get(userId: string, messageId: string): Promise<Message> {
    const row = (await this.messageQuery().where('m.id', messageId).first()) as
      MessageRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', 'message not found');
    const member = await this.db('channel_members')
      .where({ channel_id: row.channel_id, user_id: userId })
      .first('role');
    if (!member) throw new AppError('NOT_FOUND', 'message not found');
    return toMessage(row);
  }

  async edit(userId: string, messageId: string, content: string): Promise<Message> {
    checkContent(content);
    const current = await this.get(userId, messageId);
    if (!canEditMessage(userId, current.sender.id, current.deletedAt !== null)) {
      throw new AppError(
        'FORBIDDEN',
        current.deletedAt
          ? 'deleted messages cannot be edited'
          : 'only the author may edit a message',
      );
    }
    const message = await this.db.transaction(async (trx) => {
      const updated = await trx('messages')
        .where({ id: messageId })
        .whereNull('deleted_at')
        .update({ content, edited_at: trx.fn.now() });
      if (updated === 0) throw new AppError('FORBIDDEN', 'deleted messages cannot be edited');
      const message = toMessage(
        (await this.messageQuery(trx).where('m.id', messageId).first()) as MessageRow,
      );
      await writeMessageEvent(trx, 'message.updated', message);
      return message;
    });
    this.outboxWakeup.poke();
    this.fanout.messageUpdated(message);
    return message;
  }

  /** Soft delete: the text goes, the seq stays. Deleting twice is a no-op. */
  async remove(userId: string, messageId: string): Promise<Message> {
    const current = await this.get(userId, messageId);
    const member = (await this.db('channel_members')
      .where({ channel_id: current.channelId, user_id: userId })
      .first('role')) as { role: 'owner' | 'admin' | 'member' };
    if (!canDeleteMessage(userId, current.sender.id, member.role)) {
      throw new AppError(
        'FORBIDDEN',
        'only the author or a channel owner/admin may delete a message',
      );
    }
    if (current.deletedAt) return current;
    const message = await this.db.transaction(async (trx) => {
      const updated = await trx('messages')
        .where({ id: messageId })
        .whereNull('deleted_at')
        .update({ content: '', deleted_at: trx.fn.now() });
      const message = toMessage(
        (await this.messageQuery(trx).where('m.id', messageId).first()) as MessageRow,
      );
      if (updated > 0) await writeMessageEvent(trx, 'message.deleted', message);
      return { message, updated };
    });
    if (message.updated > 0) {
      this.outboxWakeup.poke();
      this.fanout.messageUpdated(message.message);
    }
    return message.message;
  }

  /**
   * Moves the caller's read pointer forward (never back), capped at the channel's last seq.
   * Returns the pointer after the call.
   */
  async markRead(userId: string, channelId: string, seq: number): Promise<number> {
    await requireMember(this.db, userId, channelId);
    const result = await this.db.transaction(async (trx) => {
      const rows = (await trx.raw(
        `update channel_members m
            set last_read_seq = least(?, c.last_seq)
           from channels c
          where c.id = m.channel_id and m.channel_id = ? and m.user_id = ?
            and m.last_read_seq < least(?, c.last_seq)
          returning m.last_read_seq`,
        [seq, channelId, userId, seq],
      )) as { rows: { last_read_seq: number }[] };
      const moved = rows.rows[0];
      if (!moved) {
        const row = (await trx('channel_members')
          .where({ channel_id: channelId, user_id: userId })
          .first('last_read_seq')) as { last_read_seq: number };
        return { seq: Number(row.last_read_seq), moved: false };
      }
      const newSeq = Number(moved.last_read_seq);
      await writeOutbox(trx, TOPICS.receipts, channelId, receiptEvent(channelId, userId, newSeq));
      return { seq: newSeq, moved: true };
    });
    if (result.moved) {
      this.outboxWakeup.poke();
      this.fanout.receiptUpdated({ channelId, userId, seq: result.seq });
    }
    return result.seq;
  }

  async search(
    userId: string,
    query: string,
    channelId: string | undefined,
    limit: number,
  ): Promise<Message[]> {
    const q = this.messageQuery()
      .join('channel_members as me', function () {
        this.on('me.channel_id', '=', 'm.channel_id');
      })
      .where('me.user_id', userId)
      .whereNull('m.deleted_at')
      .whereRaw(`m.search @@ websearch_to_tsquery('english', ?)`, [query])
      .orderByRaw(`ts_rank(m.search, websearch_to_tsquery('english', ?)) desc, m.created_at desc`, [
        query,
      ])
      .limit(limit);
    if (channelId) q.where('m.channel_id', channelId);
    return ((await q) as MessageRow[]).map(toMessage);
  }
}

/** A send's answer from its row's status: the message, or the error only this send gets. */
function answer({ status, message }: WrittenSend): SendResult {
  switch (status) {
    case 'created':
    case 'duplicate':
      return { message: message!, created: status === 'created' };
    case 'forbidden':
      throw new AppError('FORBIDDEN', 'join the channel first');
    case 'bad_reply':
      throw new AppError('VALIDATION', 'request failed validation', {
        fields: [{ path: 'replyTo', message: 'no such message in this channel' }],
      });
    case 'invalid':
      throw new AppError('VALIDATION', 'request failed validation');
    default:
      throw new AppError('NOT_FOUND', 'channel not found');
  }
}
