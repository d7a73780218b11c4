import type { PresenceStatus } from '../../../services/client/index.js';

export function PresenceDot({ status }: { status: PresenceStatus | undefined }) {
  const label = status ?? 'offline';
  return <span class={`dot ${label}`} role="img" aria-label={label} title={label} />;
}
