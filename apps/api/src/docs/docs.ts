import { INestApplication, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, documentSecurityAndErrors } from './error-responses';
import { PublicRoutes } from './public-routes';

@Module({
  imports: [DiscoveryModule],
  providers: [PublicRoutes],
})
export class DocsModule {}

/** OpenAPI 3 of every route, from the controllers and DTOs: Swagger UI at /docs, the JSON at /docs-json. */
export function setupDocs(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('api-gpu')
    .setDescription(
      'GPU media processing: caption, img2vid, addaudio and transcribe jobs, run synchronously ' +
        '(the request is held until the job ends) or asynchronously (`Prefer: respond-async` or ' +
        '`"async": true`: 202 with a status URL). Every route but the public ones needs the ' +
        '`X-API-Key` header. Errors are `{"error": ..., "message": ...}`.',
    )
    .setVersion('1.0')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'One of the keys in X_API_KEY (admins) or API_KEYS_FILE (named clients); also accepted as `Authorization: Bearer <key>`' },
      API_KEY_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  documentSecurityAndErrors(document, app.get(PublicRoutes).keys());
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'] });
}
