import { errorReason } from '@app/common';
import { Injectable } from '@nestjs/common';
import { NodeRegistryService } from '../nodes/node-registry.service';

export interface TranscriptionHealth {
  status: 'healthy' | 'unhealthy';
  service: 'transcription';
  whisper: { healthy: boolean; message: string };
  timestamp: string;
}

/**
 * Whisper is healthy when at least one live GPU node can load a model, as its heartbeat says; the
 * message lists what the nodes offer, where the replaced service quoted RunPod's endpoint health.
 */
@Injectable()
export class WhisperHealthService {
  constructor(private readonly nodes: NodeRegistryService) {}

  async check(): Promise<TranscriptionHealth> {
    const whisper = await this.whisperStatus();
    return {
      status: whisper.healthy ? 'healthy' : 'unhealthy',
      service: 'transcription',
      whisper,
      timestamp: new Date().toISOString(),
    };
  }

  private async whisperStatus(): Promise<{ healthy: boolean; message: string }> {
    let nodes;
    try {
      nodes = await this.nodes.liveNodes();
    } catch (error) {
      return { healthy: false, message: `GPU nodes cannot be listed: Redis is unavailable (${errorReason(error)})` };
    }
    const withModels = nodes.filter((node) => !node.draining && Array.isArray(node.models) && node.models.length > 0);
    if (withModels.length === 0) {
      return {
        healthy: false,
        message:
          nodes.length === 0
            ? 'No GPU node is running'
            : `${nodes.length} GPU node(s) running, none with a whisper model ready`,
      };
    }
    const models = [...new Set(withModels.flatMap((node) => node.models))].sort();
    const devices = [...new Set(withModels.map((node) => node.whisperDevice).filter(Boolean))].sort();
    return {
      healthy: true,
      message:
        `Local whisper is healthy on ${withModels.length} GPU node(s); models: ${models.join(', ')}` +
        (devices.length > 0 ? `; device: ${devices.join(', ')}` : ''),
    };
  }
}
