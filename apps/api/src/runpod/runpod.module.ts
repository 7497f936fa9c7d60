import { Module } from '@nestjs/common';
import { RunpodController } from './runpod.controller';

@Module({ controllers: [RunpodController] })
export class RunpodModule {}
