import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  SignalinkError,
  type OwnUser,
  type SignalinkRest,
} from '../../../services/client/index.js';
import { ChatStore } from '../chat-store.js';
import { useStore } from '../use-store.js';
import { ChannelList } from './channel-list.js';
import { ChannelView } from './channel-view.js';
import { BrowseDialog, DirectDialog, NewChannelDialog } from './dialogs.js';
import { SearchPanel } from './search-panel.js';

interface Props {
  rest: SignalinkRest;
  me: OwnUser;
  onSignedOut: (why: string | undefined) => void;
}

type OpenDialog = 'new-channel' | 'browse' | 'direct' | undefined;

function ConnectionBanner({ store }: { store: ChatStore }) {
  const { connection } = store.state;
  const text =
    connection === 'reconnecting'
      ? 'Connection lost. Reconnecting…'
      : connection === 'connecting'
        ? 'Connecting…'
        : connection === 'closed'
          ? 'Disconnected.'
          : undefined;
  return (
    <div
      class={text ? 'banner' : 'banner hidden'}
      role="status"
      aria-live="polite"
      data-connection={connection}
    >
      {text}
    </div>
  );
}

/**
 * The channel an email digest's link names (`/?channel=<id>&message=<id>`). The query is then
 * taken off the address, so a reload shows the page as the user left it.
 */
function takeLinkedChannel(): string | undefined {
  const params = new URLSearchParams(window.location.search);
  const channelId = params.get('channel') ?? undefined;
  if (params.has('channel') || params.has('message'))
    window.history.replaceState(null, '', window.location.pathname + window.location.hash);
  return channelId;
}

export function ChatScreen({ rest, me, onSignedOut }: Props) {
  const store = useMemo(
    () => new ChatStore(rest, me, () => document.visibilityState === 'visible'),
    [rest, me],
  );
  useStore(store);
  const [dialog, setDialog] = useState<OpenDialog>();
  const [query, setQuery] = useState<string | undefined>();

  useEffect(() => {
    store.start({ openChannelId: takeLinkedChannel() }).catch((err: unknown) => {
      if (err instanceof SignalinkError && err.code === 'UNAUTHENTICATED') {
        void rest.logout();
        onSignedOut('Your session has ended. Please sign in again.');
      } else store.notify(`Could not connect: ${err instanceof Error ? err.message : String(err)}`);
    });
    const onVisible = () => {
      if (store.state.activeId) store.markReadSoon(store.state.activeId);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      store.stop();
    };
  }, [store]);

  useEffect(() => {
    if (store.state.signedOut) {
      void rest.logout();
      onSignedOut(store.state.signedOut);
    }
  }, [store.state.signedOut]);

  const signOut = async () => {
    store.stop();
    await rest.logout();
    onSignedOut(undefined);
  };

  const active = store.active();
  return (
    <div class="chat">
      <header class="topbar">
        <h1>Signalink</h1>
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = String(new FormData(e.currentTarget).get('q') ?? '').trim();
            setQuery(q || undefined);
          }}
        >
          <label class="visually-hidden" for="search-q">
            Search messages
          </label>
          <input
            id="search-q"
            name="q"
            type="search"
            placeholder="Search messages"
            maxLength={200}
          />
          <button type="submit">Search</button>
        </form>
        <span class="me" title={me.username}>
          {me.displayName || me.username}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <ConnectionBanner store={store} />
      {store.state.notice && (
        <div class="notice" role="alert">
          {store.state.notice}
          <button type="button" aria-label="Dismiss" onClick={() => store.notify(undefined)}>
            ×
          </button>
        </div>
      )}
      <div class="panes">
        <ChannelList
          store={store}
          onNewChannel={() => setDialog('new-channel')}
          onBrowse={() => setDialog('browse')}
          onDirect={() => setDialog('direct')}
        />
        {query ? (
          <SearchPanel
            store={store}
            query={query}
            onClose={() => setQuery(undefined)}
            onOpen={(channelId) => {
              setQuery(undefined);
              void store.open(channelId);
            }}
          />
        ) : active ? (
          <ChannelView key={active.channel.id} store={store} ch={active} />
        ) : (
          <main class="empty" aria-label="No channel open">
            <p>Pick a channel on the left, or start a conversation.</p>
          </main>
        )}
      </div>
      {dialog === 'new-channel' && (
        <NewChannelDialog store={store} onClose={() => setDialog(undefined)} />
      )}
      {dialog === 'browse' && <BrowseDialog store={store} onClose={() => setDialog(undefined)} />}
      {dialog === 'direct' && <DirectDialog store={store} onClose={() => setDialog(undefined)} />}
    </div>
  );
}
