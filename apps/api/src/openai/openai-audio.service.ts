import { JobOperation, TranscribeTask, normalizeLanguage, validateJobInput } from '@app/common';
import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { JobsService } from '../jobs/jobs.service';
import { StorageService } from '../storage/storage.service';
import { currentClient } from '../tenancy/client-identity';
import { currentIdempotencyKey } from '../tenancy/idempotency';
import { UPLOADS_PREFIX, UploadsService } from '../uploads/uploads.service';
import { FinishedTranscript, OpenAiAnswer, filesNeeded, openAiAnswer } from './openai-answers';
import { OpenAiError } from './openai-errors';
import { OpenAiAudioRequest, readAudioForm } from './openai-request';

/** Where the facade's transcribe jobs write their files (each its own folder): they expire with the uploads. */
const OUTPUT_PREFIX = `${UPLOADS_PREFIX}openai/`;

/** The form fields each job input field came from, to name OpenAI's `param` in a refusal. */
const PARAM_OF_FIELD: Record<string, string> = {
  audio_url: 'file_url',
  model: 'model',
  language: 'language',
  prompt: 'prompt',
  temperature: 'temperature',
};

export interface UploadedAudio {
  path: string;
  originalname: string;
  mimetype: string;
}

/**
 * OpenAI's transcription and translation as a transcribe job: the upload goes under uploads/ (it
 * expires with the others), the job runs like any /transcribe (same queues, nodes, RunPod, held
 * until it ends) and its text and files become OpenAI's answer.
 */
@Injectable()
export class OpenAiAudioService {
  constructor(
    private readonly jobs: JobsService,
    private readonly uploads: UploadsService,
    private readonly storage: StorageService,
  ) {}

  /** Answers one request; the uploaded file's temporary copy is removed whatever happens. */
  async answer(task: TranscribeTask, fields: Record<string, unknown>, file: UploadedAudio | undefined): Promise<OpenAiAnswer & { jobId: string }> {
    try {
      const request = readAudioForm(task, fields, file !== undefined);
      const fileDigest = file ? await sha256OfFile(file.path) : undefined;
      const audioUrl = file
        ? await this.uploads.store(file.path, file.originalname, file.mimetype || 'application/octet-stream')
        : (request.fileUrl as string);
      return await this.run(request, audioUrl, fileDigest);
    } finally {
      if (file) await rm(file.path, { force: true });
    }
  }

  private async run(request: OpenAiAudioRequest, audioUrl: string, fileDigest: string | undefined): Promise<OpenAiAnswer & { jobId: string }> {
    // A repeat of an Idempotency-Key gets the first request's job: it must read that job's folder,
    // and be known as the same request although its upload was stored under a new name.
    const idempotencyKey = currentIdempotencyKey();
    const folder = idempotencyKey ? createHash('sha256').update(`${currentClient().name}\n${idempotencyKey}`).digest('hex') : randomUUID();
    const path = `${OUTPUT_PREFIX}${folder}/`;
    const input: Record<string, unknown> = {
      audio_url: audioUrl,
      path,
      ...(request.model !== undefined ? { model: request.model } : {}),
      ...(request.language !== undefined ? { language: normalizeLanguage(request.language) } : {}),
      ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.task === 'translate' ? { task: 'translate' } : {}),
    };
    // The form is not a request DTO, so the validation pipe never saw it: the contract is checked
    // here, once, and a refusal names the form field as OpenAI does.
    const checked = validateJobInput(JobOperation.Transcribe, input);
    if (!checked.ok) {
      const [first] = checked.errors;
      throw new OpenAiError(HttpStatus.BAD_REQUEST, first.message, paramOf(first.field), 'invalid_value');
    }
    const reply = await this.jobs
      .submit({
        operation: JobOperation.Transcribe,
        input,
        options: { async: false },
        fingerprint: { ...request, file: fileDigest ?? request.fileUrl },
      })
      .catch((error: unknown) => {
        throw asOpenAiError(error);
      });
    const body = reply.body;
    const jobId = text(body.job_id);
    if (reply.status === Number(HttpStatus.ACCEPTED)) {
      throw new OpenAiError(
        HttpStatus.GATEWAY_TIMEOUT,
        `The transcription did not finish within SYNC_TIMEOUT_S; it goes on as job ${jobId} (GET /job/${jobId})`,
        null,
        null,
        jobId,
      );
    }
    if (reply.status !== Number(HttpStatus.OK)) {
      const field = typeof body.field === 'string' ? body.field : undefined;
      throw new OpenAiError(reply.status, text(body.message) || 'The transcription failed', paramOf(field), null, jobId);
    }
    return { jobId, ...openAiAnswer(request, await this.finished(request, path, body)) };
  }

  private async finished(request: OpenAiAudioRequest, path: string, body: Record<string, unknown>): Promise<FinishedTranscript> {
    const needed = filesNeeded(request);
    const read = (name: string, wanted: boolean) => (wanted ? this.storage.getText(`${path}${name}`) : Promise.resolve(undefined));
    const [segmentsSrt, segmentsVtt, wordsJson] = await Promise.all([
      read('segments.srt', needed.srt),
      read('segments.vtt', needed.vtt),
      read('words.json', needed.words),
    ]);
    return {
      text: text(body.transcription),
      language: text(body.language),
      segmentsSrt,
      segmentsVtt,
      words: wordsJson ? (JSON.parse(wordsJson) as { words: FinishedTranscript['words'] }).words : undefined,
    };
  }
}

/** The API's own 4xx (the job contract, a URL refused) as OpenAI's, naming the form field. */
function asOpenAiError(error: unknown): unknown {
  if (!(error instanceof HttpException) || error instanceof OpenAiError) return error;
  const answer = error.getResponse() as { message?: unknown; field?: unknown };
  const message = typeof answer.message === 'string' ? answer.message : error.message;
  const field = typeof answer.field === 'string' ? answer.field : /^(\w+)/.exec(message)?.[1];
  const status = error.getStatus();
  return new OpenAiError(status, message, paramOf(field), status === Number(HttpStatus.BAD_REQUEST) ? 'invalid_value' : null);
}

function paramOf(field: string | undefined): string | null {
  return field !== undefined ? (PARAM_OF_FIELD[field] ?? null) : null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
