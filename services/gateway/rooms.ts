export const channelRoom = (channelId: string) => `channel:${channelId}`;
export const userRoom = (userId: string) => `user:${userId}`;
/** Every socket opened with an access token of this login session (refresh-token family). */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
