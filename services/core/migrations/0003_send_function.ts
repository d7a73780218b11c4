import type { Knex } from 'knex';

// The durable half of a message send in one round trip. Sending used to take a membership
// query, BEGIN, the seq increment, the insert, the outbox write and COMMIT, each waiting on the
// network while the channel row stayed locked; under load the lock hold time, not PostgreSQL's
// work, set the ceiling. Same guarantees: the seq comes from the channel row (senders of one
// channel serialise, other channels do not), a retried clientMsgId returns the original, and
// a seq is never skipped. The relay is woken after commit (OutboxWakeup), not from here: a
// NOTIFY in every send would serialise all commits on the notification queue lock.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function signalink_iso(t timestamptz) returns text
    language sql immutable as $$
      select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$;

    create function signalink_send_message(
      p_channel uuid, p_sender uuid, p_client_msg_id text, p_content text, p_reply_to uuid
    ) returns table (
      status text, id uuid, channel_id uuid, seq bigint, sender_id uuid, sender_username text,
      sender_display_name text, content text, client_msg_id text, reply_to uuid,
      created_at timestamptz, edited_at timestamptz, deleted_at timestamptz
    )
    language plpgsql volatile as $$
    declare
      v_type text;
      v_role text;
      v_username text;
      v_display text;
      v_seq bigint;
      m messages%rowtype;
    begin
      select c.type, cm.role, u.username, u.display_name
        into v_type, v_role, v_username, v_display
        from channels c
        left join channel_members cm on cm.channel_id = c.id and cm.user_id = p_sender
        left join users u on u.id = cm.user_id
       where c.id = p_channel;
      if not found or (v_type <> 'public' and v_role is null) then
        return query select 'not_found'::text, null::uuid, null::uuid, null::bigint, null::uuid, null::text,
          null::text, null::text, null::text, null::uuid, null::timestamptz, null::timestamptz, null::timestamptz;
        return;
      end if;
      if v_role is null then
        return query select 'forbidden'::text, null::uuid, null::uuid, null::bigint, null::uuid, null::text,
          null::text, null::text, null::text, null::uuid, null::timestamptz, null::timestamptz, null::timestamptz;
        return;
      end if;
      if p_reply_to is not null and not exists (
        select 1 from messages r where r.id = p_reply_to and r.channel_id = p_channel
      ) then
        return query select 'bad_reply'::text, null::uuid, null::uuid, null::bigint, null::uuid, null::text,
          null::text, null::text, null::text, null::uuid, null::timestamptz, null::timestamptz, null::timestamptz;
        return;
      end if;

      select * into m from messages x
       where x.channel_id = p_channel and x.sender_id = p_sender and x.client_msg_id = p_client_msg_id;
      if not found then
        update channels c set last_seq = c.last_seq + 1 where c.id = p_channel returning c.last_seq into v_seq;
        if v_seq is null then -- the channel was deleted a moment ago
          return query select 'not_found'::text, null::uuid, null::uuid, null::bigint, null::uuid, null::text,
            null::text, null::text, null::text, null::uuid, null::timestamptz, null::timestamptz, null::timestamptz;
          return;
        end if;
        -- Each statement reads the latest committed data: a concurrent send of the same
        -- clientMsgId that committed while we waited for the row lock is visible now. We still
        -- hold the lock, so giving the seq back cannot collide with anyone.
        select * into m from messages x
         where x.channel_id = p_channel and x.sender_id = p_sender and x.client_msg_id = p_client_msg_id;
        if found then
          update channels c set last_seq = c.last_seq - 1 where c.id = p_channel;
        else
          insert into messages (channel_id, seq, sender_id, content, client_msg_id, reply_to)
          values (p_channel, v_seq, p_sender, p_content, p_client_msg_id, p_reply_to)
          returning * into m;
          -- What you wrote yourself is read.
          update channel_members cm set last_read_seq = v_seq
           where cm.channel_id = p_channel and cm.user_id = p_sender;
          insert into outbox (topic, key, payload) values (
            'signalink.messages', p_channel::text,
            jsonb_build_object(
              'type', 'message.created',
              'eventId', gen_random_uuid(),
              'occurredAt', signalink_iso(clock_timestamp()),
              'message', jsonb_build_object(
                'id', m.id, 'channelId', m.channel_id, 'seq', m.seq,
                'sender', jsonb_build_object('id', p_sender, 'username', v_username, 'displayName', v_display),
                'content', m.content, 'clientMsgId', m.client_msg_id, 'replyTo', m.reply_to,
                'createdAt', signalink_iso(m.created_at), 'editedAt', null, 'deletedAt', null)));
          return query select 'created'::text, m.id, m.channel_id, m.seq, m.sender_id, v_username, v_display,
            m.content, m.client_msg_id, m.reply_to, m.created_at, m.edited_at, m.deleted_at;
          return;
        end if;
      end if;
      -- The clientMsgId was accepted before: answer with the original (its sender's current names).
      return query select 'duplicate'::text, m.id, m.channel_id, m.seq, m.sender_id, v_username, v_display,
        m.content, m.client_msg_id, m.reply_to, m.created_at, m.edited_at, m.deleted_at;
    end
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists signalink_send_message(uuid, uuid, text, text, uuid);
    drop function if exists signalink_iso(timestamptz);
  `);
}
