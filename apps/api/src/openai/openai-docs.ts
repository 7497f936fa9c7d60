import { HttpCode, HttpStatus, applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExtraModels, ApiOkResponse, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { GRANULARITIES, RESPONSE_FORMATS } from './openai-request';

class OpenAiErrorDetail {
  @ApiProperty({ type: String, example: "Invalid 'response_format': 'xml'." })
  message: string;

  @ApiProperty({ type: String, example: 'invalid_request_error' })
  type: string;

  @ApiProperty({ type: String, nullable: true, example: 'response_format' })
  param: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'invalid_value' })
  code: string | null;
}

export class OpenAiErrorResponse {
  @ApiProperty({ type: () => OpenAiErrorDetail })
  error: OpenAiErrorDetail;
}

class OpenAiAudioForm {
  @ApiProperty({ type: String, format: 'binary', required: false, description: `The audio (MAX_UPLOAD_MB at most)`, example: 'entrevista.mp3' })
  file?: unknown;

  @ApiProperty({ type: String, required: false, description: 'Extension: a media URL instead of file', example: 'https://example.com/audio.mp3' })
  file_url?: string;

  @ApiProperty({ type: String, description: 'A served model, or whisper-1 for the default', example: 'whisper-1' })
  model: string;

  @ApiProperty({ type: String, required: false, description: 'Spoken language (transcriptions only)', example: 'pt' })
  language?: string;

  @ApiProperty({ type: String, required: false, description: "Whisper's initial prompt", example: 'Dra. Conceição' })
  prompt?: string;

  @ApiProperty({ type: Number, required: false, minimum: 0, maximum: 1, example: 0 })
  temperature?: number;

  @ApiProperty({ type: String, enum: RESPONSE_FORMATS, required: false, example: 'json' })
  response_format?: string;

  @ApiProperty({
    type: [String],
    enum: GRANULARITIES,
    required: false,
    description: 'With verbose_json only; also sent as timestamp_granularities[]',
    example: ['word'],
  })
  timestamp_granularities?: string[];
}

const error = (status: number, description: string) =>
  ApiResponse({ status, description, schema: { $ref: getSchemaPath(OpenAiErrorResponse) } });

/** An OpenAI audio route: a multipart form in, OpenAI's answers and error envelope out. */
export const OpenAiAudioRoute = () =>
  applyDecorators(
    HttpCode(HttpStatus.OK),
    ApiExtraModels(OpenAiErrorResponse, OpenAiAudioForm),
    ApiConsumes('multipart/form-data'),
    ApiBody({ schema: { $ref: getSchemaPath(OpenAiAudioForm) } }),
    ApiOkResponse({
      description:
        'As OpenAI answers: json `{"text"}`, verbose_json, or text, srt, vtt as plain bodies; the job id in `X-Job-Id`',
    }),
    error(400, 'A bad field: `param` names it'),
    error(401, 'Missing or wrong key (X-API-Key or Authorization: Bearer)'),
    error(413, 'file larger than MAX_UPLOAD_MB'),
    error(429, 'Rate limit of the key exceeded; `Retry-After` says when to retry'),
    error(500, 'The transcription failed on the server'),
    error(503, 'A dependency (Redis, MinIO, RunPod) is down; `Retry-After` says when to retry'),
    error(504, 'The job did not end within SYNC_TIMEOUT_S; it goes on (`GET /job/{id}`)'),
  );

export const OpenAiModelsRoute = () =>
  applyDecorators(
    ApiExtraModels(OpenAiErrorResponse),
    ApiOkResponse({ description: '`{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`' }),
    error(401, 'Missing or wrong key (X-API-Key or Authorization: Bearer)'),
    error(429, 'Rate limit of the key exceeded'),
    error(500, 'Unexpected error (logged)'),
    error(503, 'Redis is down'),
  );
