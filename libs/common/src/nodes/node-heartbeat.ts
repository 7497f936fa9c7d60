/**
 * What a GPU node tells the API about itself. Each node refreshes its key with a TTL, so a node
 * that dies simply disappears from the live set without anyone cleaning up after it.
 */
export interface NodeHeartbeat {
  nodeId: string;
  hostname: string;
  pid: number;
  /** Jobs the node runs at once: one warm worker process per slot. */
  slots: number;
  /** Slots whose worker is ready and idle. */
  freeSlots: number;
  /** True once the node has been asked to stop: it takes no new job. */
  draining: boolean;
  /** GPU name, or null when the node has none (or cannot tell). */
  gpu: string | null;
  /** FFmpeg video encoder the workers use (`h264_nvenc`, `libx264`); null until a worker is ready. */
  encoder: string | null;
  nvenc: boolean | null;
  /** Why the workers encode with libx264 although `FFMPEG_ENCODER=auto` (no NVENC here); else null. */
  encoderFallback: string | null;
  /** Device faster-whisper runs on (`cuda`, `cpu`); null until a worker is ready. */
  whisperDevice: string | null;
  /** Why whisper runs on the CPU although `WHISPER_DEVICE=auto` (CUDA unusable here); else null. */
  whisperFallback: string | null;
  /** Whisper models the workers can load, aliases (WHISPER_MODEL_ALIASES) included. */
  models: string[];
  /** Each alias with the model that serves it; absent in heartbeats of older nodes. */
  modelAliases?: Record<string, string>;
  /** Whisper models already loaded in a worker's memory. */
  warmModels: string[];
  startedAt: string;
  lastSeenAt: string;
}

export const NODE_HEARTBEAT_PREFIX = 'api-gpu:node:';

export function nodeHeartbeatKey(nodeId: string): string {
  return `${NODE_HEARTBEAT_PREFIX}${nodeId}`;
}
