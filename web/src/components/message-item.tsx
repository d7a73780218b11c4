import { useState } from 'preact/hooks';
import type { Message } from '../../../services/client/index.js';
import type { ChatStore, PendingMessage } from '../chat-store.js';
import { messageTime } from '../chat-model.js';

interface Props {
  store: ChatStore;
  message: Message;
  own: boolean;
  seenBy: string[] | undefined;
}

export function MessageItem({ store, message: m, own, seenBy }: Props) {
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = (action: Promise<void>) =>
    action.then(
      () => setError(undefined),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );

  return (
    <li class={own ? 'message own' : 'message'} data-seq={m.seq} data-client-msg-id={m.clientMsgId}>
      <div class="meta">
        <span class="sender">{m.sender.displayName || m.sender.username}</span>
        <time dateTime={m.createdAt}>{messageTime(m.createdAt)}</time>
        {m.editedAt && !m.deletedAt && <span class="edited">(edited)</span>}
      </div>
      {m.deletedAt ? (
        <p class="content deleted">This message was deleted.</p>
      ) : editing ? (
        <form
          class="edit"
          onSubmit={(e) => {
            e.preventDefault();
            const content = String(new FormData(e.currentTarget).get('content') ?? '').trim();
            if (!content) return;
            void run(store.edit(m.id, content).then(() => setEditing(false)));
          }}
        >
          <label class="visually-hidden" for={`edit-${m.id}`}>
            Edit message
          </label>
          <textarea
            id={`edit-${m.id}`}
            name="content"
            maxLength={4000}
            defaultValue={m.content}
            ref={(el) => el?.focus()}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setEditing(false);
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
          <button type="submit">Save</button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <p class="content">{m.content}</p>
      )}
      {own && !m.deletedAt && !editing && (
        <div class="actions">
          {confirmDelete ? (
            <>
              <span>Delete this message?</span>
              <button
                type="button"
                onClick={() => void run(store.remove(m.id)).then(() => setConfirmDelete(false))}
              >
                Delete
              </button>
              <button type="button" onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </>
          ) : (
            <>
              <button type="button" onClick={() => setEditing(true)} aria-label="Edit message">
                Edit
              </button>
              <button
                type="button"
                onClick={() => setConfirmDelete(true)}
                aria-label="Delete message"
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {seenBy && <p class="receipt">Seen by {seenBy.join(', ')}</p>}
    </li>
  );
}

export function PendingItem({
  store,
  channelId,
  pending,
}: {
  store: ChatStore;
  channelId: string;
  pending: PendingMessage;
}) {
  return (
    <li class="message own pending" data-client-msg-id={pending.clientMsgId}>
      <div class="meta">
        <span class="sender">{store.state.me.displayName || store.state.me.username}</span>
        <span class="status">{pending.error ? 'Not sent' : 'Sending…'}</span>
      </div>
      <p class="content">{pending.content}</p>
      {pending.error && (
        <div class="actions">
          <span class="error" role="alert">
            {pending.error}
          </span>
          <button type="button" onClick={() => store.retry(channelId, pending.clientMsgId)}>
            Retry
          </button>
          <button type="button" onClick={() => store.discard(channelId, pending.clientMsgId)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}
