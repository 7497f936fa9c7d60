/** The whisper model a transcription will load, and where that name came from. */
export interface TranscriptionModel {
  name: string;
  /** `model` when the request named it, else why the default is what it is. */
  source: string;
}

/**
 * Resolves a transcription's model as the worker does (worker-python/api_gpu_worker/whisper_models.py):
 * the request's `model`, else WHISPER_DEFAULT_MODEL, else `tiny.en` for English and `base` otherwise.
 */
export function transcriptionModel(input: Record<string, unknown>, defaultModel: string | null | undefined): TranscriptionModel {
  if (typeof input.model === 'string') return { name: input.model, source: 'model' };
  if (defaultModel) return { name: defaultModel, source: 'WHISPER_DEFAULT_MODEL' };
  return input.language === 'en'
    ? { name: 'tiny.en', source: 'the default for language en' }
    : { name: 'base', source: 'the default for a language other than en, or none' };
}
