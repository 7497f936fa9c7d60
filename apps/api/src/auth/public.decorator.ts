import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'api-gpu:public';

/** Marks a route that answers without an API key (health, service description). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
