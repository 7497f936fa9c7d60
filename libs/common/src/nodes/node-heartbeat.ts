/**
 * What a GPU node tells the API about itself. Each node refreshes its key with a TTL, so a node
 * that dies simply disappears from the live set without anyone cleaning up after it.
 */
export interface NodeHeartbeat {
  nodeId: string;
  hostname: string;
  pid: number;
  slots: number;
  startedAt: string;
  lastSeenAt: string;
}

export const NODE_HEARTBEAT_PREFIX = 'api-gpu:node:';

export function nodeHeartbeatKey(nodeId: string): string {
  return `${NODE_HEARTBEAT_PREFIX}${nodeId}`;
}
