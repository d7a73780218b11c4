export type PresenceStatus = 'online' | 'away' | 'offline';

export interface PresenceState {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string;
}

/**
 * Who is connected right now, across every gateway node. Backed by Redis (TTL heartbeats)
 * or by memory in single-process mode. The notifier asks it who is offline.
 */
export interface PresenceReader {
  /** The subset of `userIds` with at least one connected socket anywhere. */
  connectedUserIds(userIds: string[]): Promise<Set<string>>;
  get(userIds: string[]): Promise<PresenceState[]>;
}
