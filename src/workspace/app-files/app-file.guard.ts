import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { httpRequestOf } from '../../common/http-request-of.js';
import { PRINCIPAL } from '../../sessions/principal.js';
import { ProtectedResources } from '../../sessions/protected-resources.js';
import { FILE_SCOPE, type ScopedRequest } from '../token-scope.guard.js';
import type { FileScope } from './app-file-marker.js';
import { AppFiles, fileIdsIn, NotOwnFileError } from './app-files.js';

const FILE_INPUTS = 'workspace:fileInputs';

/**
 * Declares the inputs of a route (path parameters or body fields) that name an existing Drive file: what AppFileGuard
 * checks for the client's mark. The route's catalogue entry names the same inputs (`fileInputs`, catalogue.spec.ts),
 * which MCP's tool calls are checked with.
 */
export const ReachesFiles = (...names: string[]) => SetMetadata(FILE_INPUTS, names);

/** What a route handler declared with @ReachesFiles, read from the handler itself. */
export function fileInputsOfHandler(handler: object): readonly string[] | undefined {
  return Reflect.getMetadata(FILE_INPUTS, handler) as readonly string[] | undefined;
}

/** The request's FileScope (TokenScopeGuard): undefined for a browser sign-in's token and for tokens without drive.file. */
export const CallerFiles = createParamDecorator((_: unknown, ctx: ExecutionContext): FileScope | undefined => httpRequestOf<ScopedRequest>(ctx)[FILE_SCOPE]);

/**
 * Runs after TokenScopeGuard: when the token reaches only its client's files (FileScope.ownOnly), every file the
 * route's @ReachesFiles inputs name must carry the client's mark, or the request is refused with the 403 a missing
 * scope gets (NotOwnFileError), before the route calls Google with it. Other requests pass untouched, with no Google call.
 */
@Injectable()
export class AppFileGuard implements CanActivate {
  constructor(
    private readonly appFiles: AppFiles,
    private readonly resources: ProtectedResources,
  ) {}

  /** Synchronous (no promise to await) for every request but an own-files-only token's naming a file. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = httpRequestOf<ScopedRequest>(context);
    const files = request[FILE_SCOPE];
    const principal = request[PRINCIPAL];
    if (!files?.ownOnly || !principal) return true;
    // The input as it arrived (guards run before the validation pipes): ids that are no Google id fail those pipes.
    // A path parameter wins over a query or body field of the same name: it is what the handler reads (@Param), so
    // a body {"documentId": "<own>"} must not get a check of the wrong file past the guard, whatever the body's schema.
    const input = { ...asRecord(request.query), ...asRecord(request.body), ...asRecord(request.params) };
    const ids = fileIdsIn(fileInputsOfHandler(context.getHandler()) ?? [], input);
    if (ids.length === 0) return true;
    const resource = this.resources.forRoute(request.routeOptions?.url);
    return this.appFiles.refuseOthers(principal.email, files, ids, (id) => new NotOwnFileError(resource, files, id)).then(() => true);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
