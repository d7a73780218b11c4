import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PublicChannel, PublicUser } from '../../../services/client/index.js';
import type { ChatStore } from '../chat-store.js';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A modal <dialog>: the browser traps focus, closes on Escape and restores focus afterwards. */
function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const titleId = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
      <button type="button" class="close" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}

/** Finds people by username or display name. */
function UserPicker({
  store,
  label,
  onPick,
  exclude = [],
}: {
  store: ChatStore;
  label: string;
  onPick: (u: PublicUser) => void;
  exclude?: string[];
}) {
  const [q, setQ] = useState('');
  const [users, setUsers] = useState<PublicUser[]>([]);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const query = q.trim();
    if (!query) {
      setUsers([]);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      store.rest.searchUsers(query, 10).then(
        (found) =>
          current &&
          setUsers(found.filter((u) => u.id !== store.state.me.id && !exclude.includes(u.id))),
        (err: unknown) => current && setError(errorText(err)),
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [q]);
  return (
    <div class="picker">
      <label>
        {label}
        <input
          type="search"
          value={q}
          autocomplete="off"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul aria-label="Matching people">
        {users.map((u) => (
          <li key={u.id}>
            <button type="button" onClick={() => onPick(u)}>
              {u.displayName || u.username} <span class="muted">@{u.username}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function NewChannelDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [invited, setInvited] = useState<PublicUser[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="New channel" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const description = String(data.get('description') ?? '').trim();
          setBusy(true);
          store
            .createChannel({
              name: String(data.get('name') ?? '').trim(),
              type: data.get('type') === 'private' ? 'private' : 'public',
              ...(description ? { description } : {}),
              ...(invited.length > 0 ? { memberIds: invited.map((u) => u.id) } : {}),
            })
            .then(onClose, (err: unknown) => setError(errorText(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label>
          Name
          <input name="name" required maxLength={80} autocomplete="off" />
        </label>
        <fieldset>
          <legend>Who can find it</legend>
          <label class="inline">
            <input type="radio" name="type" value="public" defaultChecked /> Public: anyone can join
          </label>
          <label class="inline">
            <input type="radio" name="type" value="private" /> Private: invited people only
          </label>
        </fieldset>
        <label>
          Description (optional)
          <input name="description" maxLength={1000} autocomplete="off" />
        </label>
        <UserPicker
          store={store}
          label="Invite people"
          exclude={invited.map((u) => u.id)}
          onPick={(u) => setInvited([...invited, u])}
        />
        {invited.length > 0 && (
          <ul class="chips" aria-label="Invited">
            {invited.map((u) => (
              <li key={u.id}>
                {u.displayName || u.username}
                <button
                  type="button"
                  aria-label={`Remove ${u.username}`}
                  onClick={() => setInvited(invited.filter((x) => x.id !== u.id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create channel
        </button>
      </form>
    </Dialog>
  );
}

export function BrowseDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [q, setQ] = useState('');
  const [channels, setChannels] = useState<PublicChannel[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      store.rest.publicChannels(q.trim() || undefined).then(
        (found) => current && setChannels(found),
        (err: unknown) => current && setError(errorText(err)),
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [q]);
  return (
    <Dialog title="Browse channels" onClose={onClose}>
      <label>
        Find a public channel
        <input
          type="search"
          value={q}
          autocomplete="off"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {channels && channels.length === 0 && <p>No public channels match.</p>}
      <ul class="browse" aria-label="Public channels">
        {(channels ?? []).map((c) => (
          <li key={c.id}>
            <span>
              # {c.name} <span class="muted">{c.memberCount} members</span>
            </span>
            {c.isMember ? (
              <button
                type="button"
                onClick={() => {
                  void store.open(c.id);
                  onClose();
                }}
              >
                Open
              </button>
            ) : (
              <button
                type="button"
                onClick={() =>
                  store.join(c.id).then(onClose, (err: unknown) => setError(errorText(err)))
                }
              >
                Join
              </button>
            )}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

export function DirectDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [error, setError] = useState<string | undefined>();
  return (
    <Dialog title="New message" onClose={onClose}>
      <UserPicker
        store={store}
        label="To"
        onPick={(u) =>
          void store
            .createChannel({ type: 'direct', memberIds: [u.id] })
            .then(onClose, (err: unknown) => setError(errorText(err)))
        }
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}

export function InviteDialog({
  store,
  channelId,
  onClose,
}: {
  store: ChatStore;
  channelId: string;
  onClose: () => void;
}) {
  const [status, setStatus] = useState<string | undefined>();
  const members = store.state.channels.get(channelId)?.members ?? [];
  return (
    <Dialog title="Invite people" onClose={onClose}>
      <UserPicker
        store={store}
        label="Find people"
        exclude={members.map((m) => m.userId)}
        onPick={(u) =>
          store.invite(channelId, u.id).then(
            () => setStatus(`${u.displayName || u.username} was added.`),
            (err: unknown) => setStatus(errorText(err)),
          )
        }
      />
      <p role="status">{status ?? ''}</p>
    </Dialog>
  );
}
