import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { ApiClients } from '../tenancy/api-clients.service';
import { ClientIdentityMiddleware } from '../tenancy/client-identity.middleware';
import { ApiKeyGuard } from './api-key.guard';
import { IS_PUBLIC } from './public.decorator';

const config = { get: (name: string) => (name === 'X_API_KEY' ? 'first-key, second-key' : undefined) };
const identities = new ClientIdentityMiddleware(new ApiClients(config as unknown as ConfigService<never, true>));

/** The request as the guard sees it: after ClientIdentityMiddleware, as in the application. */
function contextFor(request: { headers: Record<string, string>; query?: Record<string, string> }, isPublic = false) {
  const handler = () => undefined;
  if (isPublic) Reflect.defineMetadata(IS_PUBLIC, true, handler);
  const identified = { query: {}, ...request } as unknown as Request;
  identities.use(identified, {} as Response, (() => undefined) as NextFunction);
  return {
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => identified }),
  } as unknown as ExecutionContext;
}

function rejection(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the guard to reject');
}

describe('ApiKeyGuard', () => {
  const guard = new ApiKeyGuard(new Reflector());

  it('accepts every configured key in the X-API-Key header', () => {
    expect(guard.canActivate(contextFor({ headers: { 'x-api-key': 'first-key' } }))).toBe(true);
    expect(guard.canActivate(contextFor({ headers: { 'x-api-key': 'second-key' } }))).toBe(true);
  });

  it('accepts a configured key as Authorization: Bearer, as OpenAI clients send it', () => {
    expect(guard.canActivate(contextFor({ headers: { authorization: 'Bearer second-key' } }))).toBe(true);
    expect(guard.canActivate(contextFor({ headers: { authorization: 'bearer first-key' } }))).toBe(true);
  });

  it.each([
    ['no key', { headers: {} }],
    ['a wrong Bearer key', { headers: { authorization: 'Bearer third-key' } }],
    ['a key sent as Basic credentials', { headers: { authorization: 'Basic first-key' } }],
    ['a wrong key', { headers: { 'x-api-key': 'third-key' } }],
    ['a prefix of a key', { headers: { 'x-api-key': 'first' } }],
    ['an empty key', { headers: { 'x-api-key': '' } }],
    ['the key in the query string', { headers: {}, query: { api_key: 'first-key', 'x-api-key': 'first-key' } }],
  ])('rejects %s with the contract 401 body', (_case, request) => {
    const error = rejection(() => guard.canActivate(contextFor(request)));
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect((error as UnauthorizedException).getStatus()).toBe(401);
    expect((error as UnauthorizedException).getResponse()).toEqual({
      error: 'Unauthorized',
      message: 'Invalid or missing API key',
    });
  });

  it('lets @Public() routes through without a key', () => {
    expect(guard.canActivate(contextFor({ headers: {} }, true))).toBe(true);
  });
});
