// Shapes of the wire contract (PROTOCOL.md) and the mapping from database rows to them.

export const CHANNEL_TYPES = ['public', 'private', 'direct'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const MEMBER_ROLES = ['owner', 'admin', 'member'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const MAX_MESSAGE_LENGTH = 4000;

export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  statusMessage: string | null;
  createdAt: string;
}

/** The caller's own profile: the public fields plus what only they may see. */
export interface OwnUser extends PublicUser {
  email: string;
  isAdmin: boolean;
}

export interface Channel {
  id: string;
  name: string | null;
  type: ChannelType;
  description: string;
  createdBy: string;
  createdAt: string;
  lastSeq: number;
  memberCount: number;
}

export interface ChannelForMember extends Channel {
  unreadCount: number;
  lastReadSeq: number;
  role: MemberRole;
}

export interface Member {
  userId: string;
  username: string;
  displayName: string;
  role: MemberRole;
  joinedAt: string;
}

export interface MessageSender {
  id: string;
  username: string;
  displayName: string;
}

export interface Message {
  id: string;
  channelId: string;
  seq: number;
  sender: MessageSender;
  content: string;
  clientMsgId: string;
  replyTo: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

export interface UserRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  display_name: string;
  avatar_url: string | null;
  status_message: string | null;
  created_at: Date;
}

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    statusMessage: row.status_message,
    createdAt: iso(row.created_at),
  };
}

export interface ChannelRow {
  id: string;
  type: ChannelType;
  name: string | null;
  description: string;
  created_by: string;
  created_at: Date;
  last_seq: number;
  member_count: number;
}

export function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    description: row.description,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    lastSeq: Number(row.last_seq),
    memberCount: Number(row.member_count),
  };
}

export interface MessageRow {
  id: string;
  channel_id: string;
  seq: number;
  sender_id: string;
  sender_username: string;
  sender_display_name: string;
  content: string;
  client_msg_id: string;
  reply_to: string | null;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    channelId: row.channel_id,
    seq: Number(row.seq),
    sender: {
      id: row.sender_id,
      username: row.sender_username,
      displayName: row.sender_display_name,
    },
    // A deleted message keeps its seq (so clients see no gap) but never its text.
    content: row.deleted_at ? '' : row.content,
    clientMsgId: row.client_msg_id,
    replyTo: row.reply_to,
    createdAt: iso(row.created_at),
    editedAt: isoOrNull(row.edited_at),
    deletedAt: isoOrNull(row.deleted_at),
  };
}
