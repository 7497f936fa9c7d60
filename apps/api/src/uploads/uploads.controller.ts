import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { UploadRequest } from './upload-request';
import { UploadsService } from './uploads.service';

@Controller('uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  /** A presigned PUT URL under uploads/ and the s3:// URL any job takes as input once the file is there. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@Body() body: UploadRequest) {
    return this.uploads.ticket(body.filename);
  }
}
