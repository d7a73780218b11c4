/** '#' for a public channel, a padlock for a private one (drawn, not an emoji: no font needed). */
export function ChannelIcon({ type }: { type: 'public' | 'private' | 'direct' }) {
  if (type !== 'private')
    return (
      <span class="channel-icon" aria-hidden="true">
        #
      </span>
    );
  return (
    <svg
      class="channel-icon"
      viewBox="0 0 16 16"
      width="13"
      height="13"
      role="img"
      aria-label="private"
    >
      <rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="1.8" />
    </svg>
  );
}
