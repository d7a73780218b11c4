import { useEffect, useState } from 'preact/hooks';
import type { Message } from '../../../services/client/index.js';
import type { ChatStore } from '../chat-store.js';
import { channelTitle, messageTime } from '../chat-model.js';

interface Props {
  store: ChatStore;
  query: string;
  onClose: () => void;
  onOpen: (channelId: string) => void;
}

export function SearchPanel({ store, query, onClose, onOpen }: Props) {
  const [results, setResults] = useState<Message[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let current = true;
    setResults(undefined);
    setError(undefined);
    store.rest.searchMessages(query, undefined, 50).then(
      (found) => current && setResults(found),
      (err: unknown) => current && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      current = false;
    };
  }, [query]);
  const titleOf = (channelId: string) => {
    const ch = store.state.channels.get(channelId);
    return ch ? channelTitle(ch.channel, ch.members, store.state.me.id) : 'a channel you left';
  };
  return (
    <main class="search-results" aria-labelledby="search-title">
      <header class="channel-header">
        <h2 id="search-title">Results for “{query}”</h2>
        <button type="button" onClick={onClose}>
          Close search
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p role="status">
        {results === undefined
          ? 'Searching…'
          : `${results.length} ${results.length === 1 ? 'message' : 'messages'} found`}
      </p>
      <ol class="messages">
        {(results ?? []).map((m) => (
          <li key={m.id} class="message">
            <button type="button" class="result" onClick={() => onOpen(m.channelId)}>
              <span class="meta">
                <span class="sender">{m.sender.displayName || m.sender.username}</span> in{' '}
                {titleOf(m.channelId)} · {messageTime(m.createdAt)}
              </span>
              <span class="content">{m.content}</span>
            </button>
          </li>
        ))}
      </ol>
    </main>
  );
}
