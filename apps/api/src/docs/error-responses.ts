import type { OpenAPIObject } from '@nestjs/swagger';
import { routeKey } from './public-routes';

// @nestjs/swagger 12 exports only its root, so the OpenAPI object types are derived from it.
type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;
type ResponsesObject = OperationObject['responses'];

export const API_KEY_SCHEME = 'api-key';
export const ERROR_SCHEMA = 'ErrorResponse';

export const ERROR_REF = { $ref: `#/components/schemas/${ERROR_SCHEMA}` };

/** The contract's error shape: every 4xx and 5xx of the API has it; some add fields. */
export const ERROR_RESPONSE_SCHEMA = {
  type: 'object' as const,
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' as const, description: 'The HTTP reason phrase', example: 'Bad Request' },
    message: {
      type: 'string' as const,
      description: 'What was wrong, naming the field at fault',
      example: 'url_video must be an http(s) or s3 URL',
    },
  },
  additionalProperties: true,
};

const ERRORS: Record<string, string> = {
  '400': 'Invalid request: the message names the field',
  '401': 'Missing or wrong X-API-Key: `{"error":"Unauthorized","message":"Invalid or missing API key"}`',
  '404': 'No such job',
  '413': 'Request body larger than MAX_BODY_MB',
  '415': 'Request body not JSON in UTF-8',
  '429': 'Rate limit of the API key, or a queue limit of its client (`limit` names it), exceeded; `Retry-After` says when to retry',
  '500': 'Unexpected error (logged)',
  '503': 'A dependency (Redis, MinIO) is down; `Retry-After` says when to retry',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * Every operation gets the API-key requirement unless its route is @Public(), and the error
 * answers it can give in the contract's shape, where the controller has not described them.
 */
export function documentSecurityAndErrors(document: OpenAPIObject, publicRoutes: Set<string>): void {
  document.components = document.components ?? {};
  document.components.schemas = { ...document.components.schemas, [ERROR_SCHEMA]: ERROR_RESPONSE_SCHEMA };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation: OperationObject | undefined = item[method];
      if (!operation) continue;
      const isPublic = publicRoutes.has(routeKey(method, path));
      operation.security = isPublic ? [] : [{ [API_KEY_SCHEME]: [] }];
      const statuses = ['500', '503'];
      if (!isPublic) statuses.push('401', '429');
      if (operation.requestBody) statuses.push('400', '413', '415');
      if ((operation.parameters ?? []).some((p) => 'in' in p && p.in === 'path')) statuses.push('400', '404');
      addErrors(operation.responses, statuses);
    }
  }
}

function addErrors(responses: ResponsesObject, statuses: string[]): void {
  for (const status of statuses) {
    if (responses[status]) continue;
    responses[status] = {
      description: ERRORS[status],
      content: { 'application/json': { schema: ERROR_REF } },
    };
  }
}
