import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ChannelState, ChatStore } from '../chat-store.js';
import { channelTitle, seenBy, typingLine } from '../chat-model.js';
import { ChannelIcon } from './channel-icon.js';
import { InviteDialog } from './dialogs.js';
import { MessageItem, PendingItem } from './message-item.js';
import { PresenceDot } from './presence-dot.js';

interface Props {
  store: ChatStore;
  ch: ChannelState;
}

/** Within this many pixels of the bottom, new messages keep the list scrolled to the end. */
const STICK_PX = 80;

function Composer({ store, ch, title }: Props & { title: string }) {
  const [text, setText] = useState('');
  const id = ch.channel.id;
  const submit = () => {
    const content = text.trim();
    if (!content) return;
    store.send(id, content);
    setText('');
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label class="visually-hidden" for="composer-input">
        Message {title}
      </label>
      <textarea
        id="composer-input"
        rows={2}
        maxLength={4000}
        placeholder={`Message ${title}`}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (e.currentTarget.value) store.typingInput(id);
          else store.typingStopped(id);
        }}
        onKeyDown={(e) => {
          // Enter sends; Shift+Enter starts a new line.
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
        onBlur={() => store.typingStopped(id)}
      />
      <button type="submit" class="primary">
        Send
      </button>
    </form>
  );
}

export function ChannelView({ store, ch }: Props) {
  const list = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const heightBeforeOlder = useRef<number | undefined>(undefined);
  const [inviting, setInviting] = useState(false);
  const meId = store.state.me.id;
  const title = channelTitle(ch.channel, ch.members, meId);
  const names = store.names(ch);
  const typing = typingLine(ch.typing, meId, names);
  const seen = seenBy(ch.messages, meId, ch.readPointers, names);

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (heightBeforeOlder.current !== undefined) {
      // Older messages were prepended: keep the same messages in view.
      el.scrollTop += el.scrollHeight - heightBeforeOlder.current;
      heightBeforeOlder.current = undefined;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  const loadOlder = () => {
    if (!ch.hasOlder || ch.loadingOlder) return;
    heightBeforeOlder.current = list.current?.scrollHeight;
    void store.loadOlder(ch.channel.id);
  };

  const others = (ch.members ?? []).filter((m) => m.userId !== meId);
  return (
    <main class="channel-view" aria-labelledby="channel-title">
      <header class="channel-header">
        <h2 id="channel-title">
          {ch.channel.type !== 'direct' && <ChannelIcon type={ch.channel.type} />} {title}
        </h2>
        {ch.channel.description && <p class="description">{ch.channel.description}</p>}
        <ul class="members" aria-label="Members">
          {others.slice(0, 8).map((m) => (
            <li key={m.userId}>
              <PresenceDot status={store.state.presence.get(m.userId)} />{' '}
              {m.displayName || m.username}
            </li>
          ))}
          {others.length > 8 && <li>and {others.length - 8} more</li>}
        </ul>
        {ch.channel.type !== 'direct' && (
          <div class="header-actions">
            {ch.channel.role !== 'member' && (
              <button type="button" onClick={() => setInviting(true)}>
                Invite
              </button>
            )}
            <button type="button" onClick={() => void store.leave(ch.channel.id)}>
              Leave
            </button>
          </div>
        )}
      </header>
      <div
        class="messages"
        ref={list}
        role="log"
        aria-label={`Messages in ${title}`}
        aria-live="polite"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
          if (el.scrollTop < 40) loadOlder();
        }}
      >
        <ol>
          <li class="history-edge">
            {ch.hasOlder ? (
              <button type="button" onClick={loadOlder} disabled={ch.loadingOlder}>
                {ch.loadingOlder ? 'Loading…' : 'Load older messages'}
              </button>
            ) : ch.historyLoaded ? (
              <span>This is the beginning of {title}.</span>
            ) : (
              <span>Loading…</span>
            )}
          </li>
          {ch.messages.map((m) => (
            <MessageItem
              key={m.seq}
              store={store}
              message={m}
              own={m.sender.id === meId}
              seenBy={seen?.seq === m.seq ? seen.names : undefined}
            />
          ))}
          {ch.pending.map((p) => (
            <PendingItem key={p.clientMsgId} store={store} channelId={ch.channel.id} pending={p} />
          ))}
        </ol>
      </div>
      <p class="typing" aria-live="polite">
        {typing ?? ''}
      </p>
      <Composer store={store} ch={ch} title={title} />
      {inviting && (
        <InviteDialog store={store} channelId={ch.channel.id} onClose={() => setInviting(false)} />
      )}
    </main>
  );
}
