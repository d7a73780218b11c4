import type { ClientBase, QueryConfig } from 'pg';
import type { Knex } from 'knex';
import type { Outcome } from './group-commit.js';
import type { MessageRow } from './model.js';

/** One send as it reaches the database: checked for shape and content, not yet for access. */
export interface SendRequest {
  senderId: string;
  channelId: string;
  clientMsgId: string;
  content: string;
  replyTo: string | null;
}

/** What signalink_send_messages (migration 0005) answers per send. */
export type SendStatus =
  'created' | 'duplicate' | 'not_found' | 'forbidden' | 'bad_reply' | 'invalid';

export type SendRow = MessageRow & { ord: number; status: SendStatus };

// A named statement: each pooled connection parses and plans it once.
const STATEMENT = {
  name: 'signalink_send_messages_v1',
  text: 'select * from signalink_send_messages($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[])',
};

/**
 * SQLSTATE classes of errors one row can cause for a whole statement: data exceptions (22),
 * integrity constraint violations (23), transaction rollbacks such as deadlocks (40) and
 * errors raised by PL/pgSQL (P0). Connection trouble (08), shutdown (57) or lack of resources
 * (53) would fail each send alone just the same, so a batch failing with those is not split.
 */
const ROW_LEVEL_ERROR = /^(22|23|40|P0)/;

function isRowLevelError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ROW_LEVEL_ERROR.test(code);
}

/** Bytes a send adds to a batch: what travels to PostgreSQL, roughly. */
export function sendRequestBytes(r: SendRequest): number {
  return Buffer.byteLength(r.content) + r.clientMsgId.length + 120;
}

/**
 * Writes a batch of sends in one call to signalink_send_messages: one round trip, one
 * transaction, one answer row per send. If the statement itself fails (a constraint no check
 * foresaw, say), nothing was committed and the batch cannot say which send was at fault: each
 * send is then written again on its own, so only the bad one fails.
 */
export class SendWriter {
  constructor(private readonly db: Knex) {}

  async write(requests: SendRequest[]): Promise<Outcome<SendRow>[]> {
    try {
      return (await this.call(requests)).map((value) => ({ ok: true, value }));
    } catch (err) {
      if (requests.length === 1 || !isRowLevelError(err)) throw err;
      return Promise.all(
        requests.map((r) =>
          this.call([r]).then(
            ([value]): Outcome<SendRow> => ({ ok: true, value: value! }),
            (error: unknown): Outcome<SendRow> => ({ ok: false, error }),
          ),
        ),
      );
    }
  }

  private async call(requests: SendRequest[]): Promise<SendRow[]> {
    const query: QueryConfig = {
      ...STATEMENT,
      values: [
        requests.map((r) => r.channelId),
        requests.map((r) => r.senderId),
        requests.map((r) => r.clientMsgId),
        requests.map((r) => r.content),
        requests.map((r) => r.replyTo),
      ],
    };
    // Straight on a pooled connection: knex would rebuild the SQL text on every call.
    const conn = (await this.db.client.acquireConnection()) as ClientBase;
    try {
      const { rows } = await conn.query<SendRow>(query);
      if (rows.length !== requests.length)
        throw new Error(
          `signalink_send_messages answered ${rows.length} rows for ${requests.length}`,
        );
      return rows;
    } finally {
      await this.db.client.releaseConnection(conn);
    }
  }
}
