import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { routeKey } from '../src/docs/public-routes';

const API_KEY = 'openapi-test-key-0123456789';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  requestBody?: unknown;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<string, { properties?: Record<string, Record<string, unknown>>; required?: string[] }>;
  };
}
interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/**
 * The OpenAPI document against the routes the application really serves, read from Express's
 * router: each documented route exists and each real route is documented.
 */
describe('OpenAPI at /docs-json', () => {
  let deployment: Deployment;
  let app: INestApplication;
  let document: OpenApi;

  beforeAll(async () => {
    // The application runs in this process: the deployment gives it a Redis and a bucket, not an API process.
    deployment = await startDeployment({ name: 'ops-openapi', bucket: { name: 'api-gpu-ops' }, api: false });
    Object.assign(process.env, {
      ENV_FILE: '/dev/null',
      ...deployment.env,
      X_API_KEY: API_KEY,
      LOG_LEVEL: 'fatal',
    });
    // Imported only now: the configuration is read when the module is loaded.
    const { AppModule } = await import('../src/app.module');
    const { setupDocs } = await import('../src/docs/docs');
    app = await NestFactory.create(AppModule, { logger: false, bodyParser: false });
    setupDocs(app);
    await app.init();
    const response = await request(app.getHttpServer()).get('/docs-json').expect(200);
    document = response.body as OpenApi;
  });

  afterAll(async () => {
    await app?.close();
    await deployment?.stop();
  });

  const documented = () =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => routeKey(method, path)),
    );

  const served = () => {
    const router = (app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } }).router;
    return router.stack
      .flatMap((layer) =>
        layer.route
          ? Object.keys(layer.route.methods)
              .filter((method) => method !== '_all')
              .map((method) => routeKey(method, layer.route?.path ?? ''))
          : [],
      )
      .filter((key) => !/^\w+ \/docs/.test(key) && !key.includes('*'));
  };

  it('is OpenAPI 3 with the X-API-Key header as its security scheme', () => {
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes['api-key']).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    );
  });

  it('documents every route the application serves, and only those', () => {
    expect(new Set(documented())).toEqual(new Set(served()));
    expect(documented()).toEqual(
      expect.arrayContaining(['POST /video/caption', 'GET /job/{jobId}', 'POST /transcribe', 'GET /health/ready', 'GET /metrics']),
    );
  });

  it('asks for the key on every route but the public ones', () => {
    const open = Object.entries(document.paths)
      .flatMap(([path, item]) =>
        METHODS.filter((method) => item[method]?.security?.length === 0).map((method) => routeKey(method, path)),
      )
      .sort();
    expect(open).toEqual(['GET /', 'GET /health', 'GET /health/ready', 'GET /metrics', 'GET /transcribe/health']);
  });

  it('describes the error answers in the contract shape (OpenAI\'s under /v1): 401 and 429 on keyed routes, 400 where a body is read', () => {
    const errorRefOf = (path: string) =>
      path.startsWith('/v1/') ? '#/components/schemas/OpenAiErrorResponse' : '#/components/schemas/ErrorResponse';
    expect(document.components.schemas.ErrorResponse.required).toEqual(['error', 'message']);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const expected = [
          ...(operation.security?.length ? ['401', '429'] : []),
          ...(operation.requestBody ? ['400', '413'] : []),
        ];
        for (const status of expected) {
          expect({ route: `${method} ${path}`, status, ref: operation.responses[status]?.content?.['application/json']?.schema?.$ref }).toEqual({
            route: `${method} ${path}`,
            status,
            ref: errorRefOf(path),
          });
        }
      }
    }
  });

  it('gives every field of every request body a type and an example', () => {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      for (const [field, property] of Object.entries(schema.properties ?? {})) {
        // A union (compose's captions.auto: true or an object) is typed when each of its branches is.
        const branches = (property.oneOf ?? []) as Record<string, unknown>[];
        const typedUnion = branches.length > 0 && branches.every((branch) => 'type' in branch || '$ref' in branch);
        const typed = 'type' in property || '$ref' in property || 'allOf' in property || typedUnion;
        const exemplified = 'example' in property || '$ref' in property || 'items' in property;
        expect({ field: `${name}.${field}`, typed, exemplified }).toEqual({ field: `${name}.${field}`, typed: true, exemplified: true });
      }
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const page = await request(app.getHttpServer()).get('/docs').expect(200);
    expect(page.text).toContain('swagger-ui');
  });
});
