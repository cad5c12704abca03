import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { WORKSPACE_CATALOGUE } from './catalogue/catalogue.js';
import { documentedResult, operationFailure } from './catalogue/documented-results.js';
import type { WorkspaceOperation } from './catalogue/operation.js';

/** `GET v1/users/:userId/gmail/messages` -> its catalogue operation. */
const BY_ROUTE = new Map<string, WorkspaceOperation>(WORKSPACE_CATALOGUE.map((op) => [`${op.http.method} v1/users/:userId/${op.http.path}`, op]));

/**
 * Class decorator of the Workspace controllers: each route answers the shape its catalogue operation documents, or
 * 502 (catalogue/documented-results.ts); a route with no operation fails at start-up. Results that are not plain
 * objects (a file's bytes, a 204's nothing) pass unchecked.
 *
 * It wraps the route methods instead of being an interceptor: a Nest interceptor's rxjs pipeline measured about
 * 30 µs of CPU per call (the warm Workspace call is a benchmark target), the wrapper one async step. The route
 * decorators have already put their metadata on the original methods, so the wrapper carries a copy of it.
 */
export function DocumentedRoutes(): ClassDecorator {
  return (controller) => {
    const path: unknown = Reflect.getMetadata(PATH_METADATA, controller);
    // Class decorators apply bottom-up: this one must sit above @Controller to see its path.
    if (path === undefined) throw new Error(`@DocumentedRoutes() on ${controller.name} must come above @Controller()`);
    const base = String(path).replace(/^\/|\/$/g, '');
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = proto[name];
      if (name === 'constructor' || typeof value !== 'function') continue;
      const handler = value as (...a: unknown[]) => unknown;
      const route: unknown = Reflect.getMetadata(PATH_METADATA, handler);
      if (route === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const key = `${method} ${[base, String(route).replace(/^\/|\/$/g, '')].filter(Boolean).join('/')}`;
      const op = BY_ROUTE.get(key);
      if (!op) throw new Error(`${controller.name}.${name} (${key}) has no Workspace catalogue operation`);
      const wrapped = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
        let result: unknown;
        try {
          result = await handler.apply(this, args);
        } catch (err) {
          throw operationFailure(op, err);
        }
        return isPlainObject(result) ? documentedResult(op, result) : result;
      };
      for (const k of Reflect.getOwnMetadataKeys(handler)) Reflect.defineMetadata(k, Reflect.getOwnMetadata(k, handler), wrapped);
      Object.defineProperty(wrapped, 'name', { value: handler.name });
      proto[name] = wrapped;
    }
  };
}

/** A plain JSON-like object: not a StreamableFile or other class instance (common/json-object.ts's check accepts those). */
function isPlainObject(v: unknown): v is object {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}
