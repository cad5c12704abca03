import type { ExecutionContext } from '@nestjs/common';
import { PRINCIPAL } from '../../sessions/principal.js';
import type { ProtectedResources } from '../../sessions/protected-resources.js';
import { FILE_SCOPE } from '../token-scope.guard.js';
import { AppFileGuard, ReachesFiles } from './app-file.guard.js';
import type { AppFiles } from './app-files.js';

/** A route handler declaring `documentId` as a file input, as DocsController's are. */
class Routes {
  @ReachesFiles('documentId')
  replace(): void {}
}

describe('AppFileGuard', () => {
  it("checks the file the route's path names, not a body or query field of the same name the route will never use", async () => {
    const checked: string[][] = [];
    const appFiles = { refuseOthers: async (_email: string, _files: unknown, ids: readonly string[]) => void checked.push([...ids]) } as unknown as AppFiles;
    const resources = { forRoute: () => ({}) } as unknown as ProtectedResources;
    const request = {
      params: { documentId: 'theirDoc' },
      query: { documentId: 'ownDoc' },
      body: { documentId: 'ownDoc', find: 'a', replace: 'b' },
      [PRINCIPAL]: { email: 'ada@example.com' },
      [FILE_SCOPE]: { marker: 'm', ownOnly: true, stepUp: [] },
    };
    const context = { getArgByIndex: () => request, getHandler: () => Routes.prototype.replace } as unknown as ExecutionContext;
    await expect(new AppFileGuard(appFiles, resources).canActivate(context)).resolves.toBe(true);
    expect(checked).toEqual([['theirDoc']]);
  });
});
