import type { Knex } from 'knex';

// Group commit (services/chat/group-commit.ts): many sends in one round trip and one
// transaction. Same guarantees as signalink_send_message (0003), which stays for processes of
// the previous release during a rolling upgrade; both take the same channel row locks, so they
// can write side by side.
//
// - Gap-free seq per channel: every channel of the batch is locked first, in id order (the
//   same order in every batch, so batches of several processes that share channels wait for
//   each other instead of deadlocking), with the lock an UPDATE takes (FOR NO KEY UPDATE: it
//   does not block foreign-key checks of new members or messages).
// - Everything else is one statement that starts after the locks are held, so it sees every
//   send that committed while we waited: a retried clientMsgId finds the original, also when
//   the original is earlier in this same batch.
// - One bad send never fails its neighbours: each row is checked (channel, membership, reply)
//   and answered with its own status; only rows that pass take a seq.
// - Per created message, as in 0003: the message, its outbox event (in seq order) and the
//   sender's read pointer. The relay is woken after commit by the caller.
//
// Answers one row per input, in input order (ord is the 1-based position):
// created | duplicate (the original message) | not_found | forbidden | bad_reply | invalid.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function signalink_send_messages(
      p_channel_ids uuid[], p_sender_ids uuid[], p_client_msg_ids text[], p_contents text[],
      p_reply_tos uuid[]
    ) returns table (
      ord integer, status text, id uuid, channel_id uuid, seq bigint, sender_id uuid,
      sender_username text, sender_display_name text, content text, client_msg_id text,
      reply_to uuid, created_at timestamptz, edited_at timestamptz, deleted_at timestamptz
    )
    language plpgsql volatile as $$
    #variable_conflict use_column
    declare
      n integer := coalesce(cardinality(p_channel_ids), 0);
    begin
      if coalesce(cardinality(p_sender_ids), 0) <> n
         or coalesce(cardinality(p_client_msg_ids), 0) <> n
         or coalesce(cardinality(p_contents), 0) <> n
         or coalesce(cardinality(p_reply_tos), 0) <> n then
        raise exception 'signalink_send_messages: the five arrays must have the same length'
          using errcode = '22023';
      end if;

      perform 1 from channels c where c.id = any(p_channel_ids) order by c.id for no key update;

      return query
      with input as (
        select i.ord::integer as ord, i.channel_id, i.sender_id, i.client_msg_id, i.content,
               i.reply_to
          from unnest(p_channel_ids, p_sender_ids, p_client_msg_ids, p_contents, p_reply_tos)
               with ordinality as i(channel_id, sender_id, client_msg_id, content, reply_to, ord)
      ),
      checked as (
        select i.*, u.username, u.display_name,
               case
                 when c.id is null or (c.type <> 'public' and m.role is null) then 'not_found'
                 when m.role is null then 'forbidden'
                 when i.client_msg_id is null or i.content is null then 'invalid'
                 when i.reply_to is not null and not exists (
                   select 1 from messages r where r.id = i.reply_to and r.channel_id = i.channel_id
                 ) then 'bad_reply'
                 else 'ok'
               end as verdict
          from input i
          left join channels c on c.id = i.channel_id
          left join channel_members m on m.channel_id = i.channel_id and m.user_id = i.sender_id
          left join users u on u.id = m.user_id
      ),
      accepted as (
        select k.*,
               row_number() over (
                 partition by k.channel_id, k.sender_id, k.client_msg_id order by k.ord
               ) as nth
          from checked k
         where k.verdict = 'ok'
      ),
      prior as (
        select distinct x.id, x.channel_id, x.seq, x.sender_id, x.content, x.client_msg_id,
               x.reply_to, x.created_at, x.edited_at, x.deleted_at
          from accepted a
          join messages x
            on x.channel_id = a.channel_id and x.sender_id = a.sender_id
           and x.client_msg_id = a.client_msg_id
      ),
      numbered as (
        select a.*,
               ch.last_seq + row_number() over (partition by a.channel_id order by a.ord) as new_seq
          from accepted a
          join channels ch on ch.id = a.channel_id
         where a.nth = 1
           and not exists (
             select 1 from prior p
              where p.channel_id = a.channel_id and p.sender_id = a.sender_id
                and p.client_msg_id = a.client_msg_id
           )
      ),
      bumped as (
        update channels ch set last_seq = ch.last_seq + t.taken
          from (select nb.channel_id, count(*) as taken from numbered nb group by nb.channel_id) t
         where ch.id = t.channel_id
        returning ch.id
      ),
      inserted as (
        insert into messages (channel_id, seq, sender_id, content, client_msg_id, reply_to)
        select nb.channel_id, nb.new_seq, nb.sender_id, nb.content, nb.client_msg_id, nb.reply_to
          from numbered nb
         order by nb.channel_id, nb.new_seq
        returning messages.id, messages.channel_id, messages.seq, messages.sender_id,
                  messages.content, messages.client_msg_id, messages.reply_to,
                  messages.created_at, messages.edited_at, messages.deleted_at
      ),
      read_moved as (
        update channel_members cm set last_read_seq = greatest(cm.last_read_seq, r.top)
          from (select nb.channel_id, nb.sender_id, max(nb.new_seq) as top
                  from numbered nb group by nb.channel_id, nb.sender_id) r
         where cm.channel_id = r.channel_id and cm.user_id = r.sender_id
        returning cm.user_id
      ),
      outboxed as (
        insert into outbox (topic, key, payload)
        select 'signalink.messages', ins.channel_id::text,
               jsonb_build_object(
                 'type', 'message.created',
                 'eventId', gen_random_uuid(),
                 'occurredAt', signalink_iso(clock_timestamp()),
                 'message', jsonb_build_object(
                   'id', ins.id, 'channelId', ins.channel_id, 'seq', ins.seq,
                   'sender', jsonb_build_object(
                     'id', ins.sender_id, 'username', nb.username, 'displayName', nb.display_name),
                   'content', ins.content, 'clientMsgId', ins.client_msg_id,
                   'replyTo', ins.reply_to, 'createdAt', signalink_iso(ins.created_at),
                   'editedAt', null, 'deletedAt', null))
          from inserted ins
          join numbered nb on nb.channel_id = ins.channel_id and nb.new_seq = ins.seq
         order by ins.channel_id, ins.seq
        returning outbox.id
      ),
      stored as (
        select true as is_new, ins.* from inserted ins
        union all
        select false, p.* from prior p
      )
      select k.ord,
             case
               when k.verdict <> 'ok' then k.verdict
               when s.is_new and a.nth = 1 then 'created'
               else 'duplicate'
             end,
             s.id, s.channel_id, s.seq, s.sender_id,
             case when s.id is null then null else k.username end,
             case when s.id is null then null else k.display_name end,
             s.content, s.client_msg_id, s.reply_to, s.created_at, s.edited_at, s.deleted_at
        from checked k
        left join accepted a on a.ord = k.ord
        left join stored s
          on a.ord is not null and s.channel_id = k.channel_id and s.sender_id = k.sender_id
         and s.client_msg_id = k.client_msg_id
       order by k.ord;
    end
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'drop function if exists signalink_send_messages(uuid[], uuid[], text[], text[], uuid[])',
  );
}
