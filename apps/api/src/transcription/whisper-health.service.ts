import { JobOperation, NodeHeartbeat, errorReason } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { RunPodExecutor } from '../executors/runpod.executor';
import { EXECUTOR_SETTINGS, ExecutorSettings, endpointFor } from '../executors/runpod-settings';
import { NodeRegistryService } from '../nodes/node-registry.service';

// The replaced service's shape, kept as it was: what differs goes into the message.
export interface WhisperStatus {
  healthy: boolean;
  message: string;
}

export interface TranscriptionHealth {
  status: 'healthy' | 'unhealthy';
  service: 'transcription';
  whisper: WhisperStatus;
  timestamp: string;
}

/**
 * Whisper is healthy when it can run where transcriptions go now: on a live GPU node that can load
 * a model, as its heartbeat says (the message lists the models and their aliases), or, with
 * EXECUTOR_MODE=runpod or hybrid with no node alive, on RunPod's whisper endpoint, whose /health
 * is quoted as the replaced service did.
 */
@Injectable()
export class WhisperHealthService {
  constructor(
    private readonly nodes: NodeRegistryService,
    private readonly runpod: RunPodExecutor,
    @Inject(EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
  ) {}

  async check(): Promise<TranscriptionHealth> {
    const whisper = await this.whisperStatus();
    return {
      status: whisper.healthy ? 'healthy' : 'unhealthy',
      service: 'transcription',
      whisper,
      timestamp: new Date().toISOString(),
    };
  }

  private async whisperStatus(): Promise<WhisperStatus> {
    if (this.settings.mode === 'runpod') return this.runpodStatus();
    let nodes: NodeHeartbeat[];
    try {
      nodes = await this.nodes.liveNodes();
    } catch (error) {
      return { healthy: false, message: `GPU nodes cannot be listed: Redis is unavailable (${errorReason(error)})` };
    }
    if (nodes.length === 0 && this.settings.mode === 'hybrid') return this.runpodStatus();
    return localStatus(nodes);
  }

  private async runpodStatus(): Promise<WhisperStatus> {
    const check = this.runpod.health(JobOperation.Transcribe);
    const endpoint = this.settings.runpod ? endpointFor(this.settings.runpod, JobOperation.Transcribe) : '';
    if (!check) return { healthy: false, message: 'RunPod is not configured' };
    try {
      const health = await check;
      return {
        healthy: true,
        message: `RunPod Whisper endpoint ${endpoint} is healthy: ${JSON.stringify(health)}`,
      };
    } catch (error) {
      return { healthy: false, message: `RunPod Whisper endpoint ${endpoint} is unreachable: ${errorReason(error)}` };
    }
  }
}

function localStatus(nodes: NodeHeartbeat[]): WhisperStatus {
  const withModels = nodes.filter((node) => !node.draining && Array.isArray(node.models) && node.models.length > 0);
  if (withModels.length === 0) {
    return {
      healthy: false,
      message:
        nodes.length === 0 ? 'No GPU node is running' : `${nodes.length} GPU node(s) running, none with a whisper model ready`,
    };
  }
  const aliases = Object.fromEntries(withModels.flatMap((node) => Object.entries(node.modelAliases ?? {})));
  const models = [...new Set(withModels.flatMap((node) => node.models))].filter((name) => !(name in aliases)).sort();
  const devices = [...new Set(withModels.map((node) => node.whisperDevice).filter(Boolean))].sort();
  const aliasList = Object.entries(aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, served]) => `${name}=${served}`);
  return {
    healthy: true,
    message:
      `Local whisper is healthy on ${withModels.length} GPU node(s); models: ${models.join(', ')}` +
      (aliasList.length > 0 ? `; aliases: ${aliasList.join(', ')}` : '') +
      (devices.length > 0 ? `; device: ${devices.join(', ')}` : ''),
  };
}
