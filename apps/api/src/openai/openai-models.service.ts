import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { OPENAI_WHISPER_MODEL } from './openai-request';

/** The worker's own defaults (whisper_models.py): tiny.en for English, base for the rest. */
const WORKER_DEFAULT_MODELS = ['tiny.en', 'base'];
const OWNER = 'api-gpu';

/**
 * GET /v1/models in OpenAI's shape: whisper-1 (the default model under OpenAI's name), the
 * configured default and the worker's, and every model a live node advertises.
 */
@Injectable()
export class OpenAiModelsService {
  private readonly defaultModel: string | undefined;

  constructor(
    private readonly nodes: NodeRegistryService,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.defaultModel = config.get('WHISPER_DEFAULT_MODEL', { infer: true }) ?? undefined;
  }

  async list(): Promise<{ object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] }> {
    const advertised = (await this.nodes.liveNodes().catch(() => [])).flatMap((node) => node.models);
    const names = [OPENAI_WHISPER_MODEL, ...(this.defaultModel ? [this.defaultModel] : WORKER_DEFAULT_MODELS), ...advertised];
    const ids = [...new Set(names)];
    return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: OWNER })) };
  }
}
