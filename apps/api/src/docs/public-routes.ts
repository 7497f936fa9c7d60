import { Injectable } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { RequestMethod } from '@nestjs/common';
import { IS_PUBLIC } from '../auth/public.decorator';

/** `GET /health` style keys, with OpenAPI's `{param}` for Nest's `:param`. */
export function routeKey(method: string, path: string): string {
  const normalized = `/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return `${method.toUpperCase()} ${normalized.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

/** The routes marked @Public(), read from the controllers' own metadata. */
@Injectable()
export class PublicRoutes {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  keys(): Set<string> {
    const keys = new Set<string>();
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
      if (!controller) continue;
      const prefixes = asArray(Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined);
      const prototype = controller.prototype as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name] as () => unknown;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        if (!this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, controller])) continue;
        const paths = asArray(Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined);
        for (const prefix of prefixes) {
          for (const path of paths) keys.add(routeKey(RequestMethod[method], `${prefix}/${path}`));
        }
      }
    }
    return keys;
  }
}

function asArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [''];
  return Array.isArray(value) ? value : [value];
}
