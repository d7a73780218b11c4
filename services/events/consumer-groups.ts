import { TOPICS } from '../chat/outbox.js';

// The consumer groups of Signalink's own roles. The memory engine needs them up front (see
// MemoryBusOptions.localGroups), so they live here rather than in the roles.
export const ANALYTICS_CONSUMER = {
  groupId: 'signalink-analytics',
  topics: [TOPICS.messages, TOPICS.receipts, TOPICS.presence],
} as const;

export const NOTIFIER_CONSUMER = {
  groupId: 'signalink-notifier',
  topics: [TOPICS.messages],
} as const;
