import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { catchError, map, type Observable } from 'rxjs';
import { WORKSPACE_CATALOGUE } from './catalogue/catalogue.js';
import { DocumentedResults } from './catalogue/documented-results.js';
import type { WorkspaceOperation } from './catalogue/operation.js';

/** `GET /v1/users/:userId/gmail/messages` -> its catalogue operation. */
const BY_ROUTE = new Map<string, WorkspaceOperation>(WORKSPACE_CATALOGUE.map((op) => [`${op.http.method} /v1/users/:userId/${op.http.path}`, op]));

/**
 * The REST face of DocumentedResults: a Workspace route answers the shape its operation documents, or 502. Results
 * that are not JSON (a file's bytes, a 204's nothing) pass unchecked. An interceptor because it needs the result
 * before serialization and the route's operation; its rxjs pipe costs a few microseconds per call (npm run bench).
 */
@Injectable()
export class DocumentedResultInterceptor implements NestInterceptor {
  constructor(private readonly results: DocumentedResults) {}

  /** Checks the handler's result against the route's operation, and turns an unreadable answer into a 502. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const op = BY_ROUTE.get(`${request.method} ${request.routeOptions.url}`);
    if (!op) return next.handle();
    return next.handle().pipe(
      map((result: unknown) => (isPlainObject(result) ? this.results.check(op, result) : result)),
      catchError((err: unknown) => {
        throw this.results.failure(op, err);
      }),
    );
  }
}

function isPlainObject(v: unknown): v is object {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}
