import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MulterModule } from '@nestjs/platform-express';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiEnv } from '../config/api-env';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { StorageModule } from '../storage/storage.module';
import { UploadsModule } from '../uploads/uploads.module';
import { OpenAiAudioService } from './openai-audio.service';
import { OpenAiController } from './openai.controller';
import { OpenAiModelsService } from './openai-models.service';

@Module({
  imports: [
    JobsModule,
    NodesModule,
    StorageModule,
    UploadsModule,
    // Uploads go to disk, not memory: MAX_UPLOAD_MB allows files of hundreds of MB.
    MulterModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => ({
        dest: join(tmpdir(), 'api-gpu-openai-uploads'),
        limits: { fileSize: config.get('MAX_UPLOAD_MB', { infer: true }) * 1024 * 1024, files: 1 },
      }),
    }),
  ],
  controllers: [OpenAiController],
  providers: [OpenAiAudioService, OpenAiModelsService],
})
export class OpenAiModule {}
