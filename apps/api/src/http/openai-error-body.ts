/** Where the OpenAI-compatible routes live: every error under it is in OpenAI's envelope. */
export const OPENAI_PATH_PREFIX = '/v1/';

/** OpenAI's error envelope: what its SDKs parse into their APIError classes. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const DEFAULT_CODES: Partial<Record<number, string>> = { 401: 'invalid_api_key', 429: 'rate_limit_exceeded' };

export function openAiErrorBody(status: number, message: string, param: string | null = null, code?: string | null): OpenAiErrorBody {
  return { error: { message, type: errorType(status), param, code: code === undefined ? (DEFAULT_CODES[status] ?? null) : code } };
}

/** The `type` OpenAI gives each kind of failure. */
function errorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
