import type { ChannelState, ChatStore } from '../chat-store.js';
import { channelTitle, directPartner, sortChannels } from '../chat-model.js';
import { ChannelIcon } from './channel-icon.js';
import { PresenceDot } from './presence-dot.js';

interface Props {
  store: ChatStore;
  onNewChannel: () => void;
  onBrowse: () => void;
  onDirect: () => void;
}

export function ChannelList({ store, onNewChannel, onBrowse, onDirect }: Props) {
  const meId = store.state.me.id;
  const titleOf = (ch: ChannelState) => channelTitle(ch.channel, ch.members, meId);
  const all = sortChannels(
    [...store.state.channels.values()].map((ch) => ({ ...ch.channel, state: ch })),
    (c) => titleOf(c.state),
  );
  const section = (
    label: string,
    items: typeof all,
    action: { text: string; run: () => void },
    extra?: { text: string; run: () => void },
  ) => (
    <section aria-label={label}>
      <h2>{label}</h2>
      <ul>
        {items.map(({ state: ch }) => {
          const unread = store.unread(ch);
          const title = titleOf(ch);
          const partner =
            ch.channel.type === 'direct' ? directPartner(ch.members, meId) : undefined;
          const current = store.state.activeId === ch.channel.id;
          return (
            <li key={ch.channel.id}>
              <button
                type="button"
                class={current ? 'channel current' : 'channel'}
                aria-current={current ? 'page' : undefined}
                data-channel-id={ch.channel.id}
                onClick={() => void store.open(ch.channel.id)}
              >
                {partner ? (
                  <PresenceDot status={store.state.presence.get(partner)} />
                ) : (
                  <ChannelIcon type={ch.channel.type} />
                )}
                <span class="title">{title}</span>
                {unread > 0 && !current && (
                  <span class="badge" aria-label={`${unread} unread`}>
                    {unread > 99 ? '99+' : unread}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
      <div class="section-actions">
        <button type="button" onClick={action.run}>
          {action.text}
        </button>
        {extra && (
          <button type="button" onClick={extra.run}>
            {extra.text}
          </button>
        )}
      </div>
    </section>
  );
  return (
    <nav class="sidebar" aria-label="Channels">
      {section(
        'Channels',
        all.filter((c) => c.type !== 'direct'),
        { text: 'New channel', run: onNewChannel },
        { text: 'Browse channels', run: onBrowse },
      )}
      {section(
        'Direct messages',
        all.filter((c) => c.type === 'direct'),
        { text: 'New message', run: onDirect },
      )}
    </nav>
  );
}
