import type { Knex } from 'knex';

// Email digests of the notifier (docs/pipeline.md, "Email digests"). One open digest per
// member and channel collects what they missed until it is due; it is then sealed, composed
// once (the rendered mail is kept so retries send the same mail) and sent, retried or
// dead-lettered like the push queue.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table notification_preferences
      add column email text not null default 'all' check (email in ('off', 'mentions', 'all'));

    create table email_digests (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users(id) on delete cascade,
      channel_id uuid not null references channels(id) on delete cascade,
      status text not null default 'open'
        check (status in ('open', 'sending', 'sent', 'suppressed', 'dead')),
      due_at timestamptz not null,
      next_attempt_at timestamptz not null,
      attempts integer not null default 0,
      last_error text,
      mail jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index email_digests_one_open on email_digests (user_id, channel_id) where status = 'open';
    create index email_digests_due on email_digests (next_attempt_at) where status in ('open', 'sending');
    create index email_digests_finished on email_digests (updated_at) where status not in ('open', 'sending');

    create table email_digest_items (
      digest_id uuid not null references email_digests(id) on delete cascade,
      message_id uuid not null,
      seq bigint not null,
      mentioned boolean not null,
      primary key (digest_id, message_id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists email_digest_items, email_digests;
    alter table notification_preferences drop column if exists email;
  `);
}
