import type { Knex } from 'knex';

// Tables of the analytics and notifier roles (docs/pipeline.md). Analytics rows reference
// channels and users by id without foreign keys: they are derived from events and outlive
// the rows they count.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table analytics_offsets (
      consumer_group text not null,
      topic text not null,
      partition integer not null,
      next_offset bigint not null,
      updated_at timestamptz not null default now(),
      primary key (consumer_group, topic, partition)
    );

    create table analytics_seen_events (
      event_id uuid primary key,
      seen_at timestamptz not null default now()
    );
    create index analytics_seen_events_seen_at on analytics_seen_events (seen_at);

    create table analytics_message_minutes (
      bucket timestamptz not null,
      channel_id uuid not null,
      user_id uuid not null,
      messages bigint not null,
      primary key (bucket, channel_id, user_id)
    );
    create index analytics_message_minutes_channel on analytics_message_minutes (channel_id, bucket);
    create index analytics_message_minutes_user on analytics_message_minutes (user_id, bucket);

    create table analytics_message_hours (
      bucket timestamptz not null,
      channel_id uuid not null,
      user_id uuid not null,
      messages bigint not null,
      primary key (bucket, channel_id, user_id)
    );
    create index analytics_message_hours_channel on analytics_message_hours (channel_id, bucket);

    create table analytics_receipt_minutes (
      bucket timestamptz not null,
      channel_id uuid not null,
      receipts bigint not null,
      primary key (bucket, channel_id)
    );

    create table analytics_receipt_hours (
      bucket timestamptz not null,
      channel_id uuid not null,
      receipts bigint not null,
      primary key (bucket, channel_id)
    );

    create table analytics_channel_totals (
      channel_id uuid primary key,
      messages bigint not null default 0,
      receipts bigint not null default 0
    );
    create index analytics_channel_totals_messages on analytics_channel_totals (messages desc);

    create table analytics_channel_senders (
      channel_id uuid not null,
      user_id uuid not null,
      messages bigint not null,
      primary key (channel_id, user_id)
    );
    create index analytics_channel_senders_user on analytics_channel_senders (user_id);

    create table analytics_presence (
      user_id uuid primary key,
      status text not null,
      changed_at timestamptz not null
    );

    create table analytics_online_minutes (
      bucket timestamptz primary key,
      peak integer not null,
      last integer not null
    );

    create table notifier_processed_events (
      event_id uuid primary key,
      processed_at timestamptz not null default now()
    );
    create index notifier_processed_events_at on notifier_processed_events (processed_at);

    create table notifications (
      id uuid primary key,
      event_id uuid not null,
      user_id uuid not null references users(id) on delete cascade,
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index notifications_due on notifications (next_attempt_at) where status = 'pending';
    create index notifications_finished on notifications (updated_at) where status <> 'pending';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists notifications, notifier_processed_events, analytics_online_minutes,
      analytics_presence, analytics_channel_senders, analytics_channel_totals,
      analytics_receipt_hours, analytics_receipt_minutes, analytics_message_hours,
      analytics_message_minutes, analytics_seen_events, analytics_offsets;
  `);
}
