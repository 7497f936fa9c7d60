import { Module } from '@nestjs/common';
import { ExecutorsModule } from '../executors/executors.module';
import { RunpodController } from './runpod.controller';

@Module({ imports: [ExecutorsModule], controllers: [RunpodController] })
export class RunpodModule {}
