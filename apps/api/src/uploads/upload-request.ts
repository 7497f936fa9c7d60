import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, ValidateIf } from 'class-validator';

export class UploadRequest {
  @ApiProperty({
    description: 'Name the object gets under uploads/<id>/ (no slashes or control characters); "file" when left out.',
    example: 'entrevista ação.mp3',
    required: false,
  })
  // Absent is allowed, null is not, as for the job contract's optional fields.
  @ValidateIf((_body: object, value: unknown) => value !== undefined)
  @IsString()
  @MaxLength(200)
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^/\\\u0000-\u001f\u007f]+$/, { message: 'filename must not contain slashes, backslashes or control characters' })
  filename?: string;
}
