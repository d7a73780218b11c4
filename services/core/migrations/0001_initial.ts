import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table users (
      id uuid primary key default gen_random_uuid(),
      username text not null,
      email text not null,
      password_hash text not null,
      display_name text not null,
      avatar_url text,
      status_message text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index users_username_key on users (lower(username));
    create unique index users_email_key on users (lower(email));
    create index users_username_prefix on users (lower(username) text_pattern_ops);
    create index users_display_name_prefix on users (lower(display_name) text_pattern_ops);

    create table refresh_tokens (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users(id) on delete cascade,
      family_id uuid not null,
      token_hash text not null unique,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      rotated_at timestamptz,
      revoked_at timestamptz
    );
    create index refresh_tokens_family on refresh_tokens (family_id);
    create index refresh_tokens_user on refresh_tokens (user_id);

    create table channels (
      id uuid primary key default gen_random_uuid(),
      type text not null check (type in ('public', 'private', 'direct')),
      name text,
      description text not null default '',
      direct_key text unique,
      created_by uuid not null references users(id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      last_seq bigint not null default 0,
      check ((type = 'direct') = (direct_key is not null)),
      check (type = 'direct' or name is not null)
    );
    create index channels_public_name on channels (lower(name)) where type = 'public';

    create table channel_members (
      channel_id uuid not null references channels(id) on delete cascade,
      user_id uuid not null references users(id) on delete cascade,
      role text not null check (role in ('owner', 'admin', 'member')),
      last_read_seq bigint not null default 0,
      joined_at timestamptz not null default now(),
      primary key (channel_id, user_id)
    );
    create index channel_members_user on channel_members (user_id);

    create table messages (
      id uuid primary key default gen_random_uuid(),
      channel_id uuid not null references channels(id) on delete cascade,
      seq bigint not null check (seq > 0),
      sender_id uuid not null references users(id),
      content text not null,
      client_msg_id text not null,
      reply_to uuid references messages(id) on delete set null,
      created_at timestamptz not null default now(),
      edited_at timestamptz,
      deleted_at timestamptz,
      search tsvector generated always as (to_tsvector('english', content)) stored,
      unique (channel_id, seq),
      unique (channel_id, sender_id, client_msg_id)
    );
    create index messages_search on messages using gin (search);
    create index messages_sender on messages (sender_id);

    create table reactions (
      message_id uuid not null references messages(id) on delete cascade,
      user_id uuid not null references users(id) on delete cascade,
      emoji text not null,
      created_at timestamptz not null default now(),
      primary key (message_id, user_id, emoji)
    );

    create table devices (
      token text primary key,
      user_id uuid not null references users(id) on delete cascade,
      platform text not null check (platform in ('android', 'ios', 'web')),
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now()
    );
    create index devices_user on devices (user_id);

    create table notification_preferences (
      user_id uuid primary key references users(id) on delete cascade,
      mute_all boolean not null default false,
      channels jsonb not null default '{}'::jsonb,
      updated_at timestamptz not null default now()
    );

    create table outbox (
      id bigserial primary key,
      topic text not null,
      key text not null,
      payload jsonb not null,
      created_at timestamptz not null default now(),
      published_at timestamptz
    );
    create index outbox_unpublished on outbox (id) where published_at is null;
    create index outbox_published_at on outbox (published_at) where published_at is not null;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists outbox, notification_preferences, devices, reactions, messages,
      channel_members, channels, refresh_tokens, users cascade;
  `);
}
