import 'reflect-metadata';
import { GUARDS_METADATA, METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { WORKSPACE_CATALOGUE } from './catalogue/catalogue.js';
import { everyFileScope, REQUIRED_SCOPES, SCOPE_VOCABULARY, ScopeNeed, scopesToRequest, tokenReach, unmetTokenNeeds, WORKSPACE_API_NEEDS } from '../common/google-scopes.js';
import { needsOfHandler, TokenScopeGuard } from './token-scope.guard.js';
import { WorkspaceModule } from './workspace.module.js';

const G = 'https://www.googleapis.com/auth/';

describe('required scopes', () => {
  it('the vocabulary is exactly the Google scopes the operations accept', () => {
    expect(new Set(SCOPE_VOCABULARY)).toEqual(new Set(Object.values(REQUIRED_SCOPES).flat()));
    expect(SCOPE_VOCABULARY).toContain('https://mail.google.com/');
    expect(SCOPE_VOCABULARY.every((s) => s === 'https://mail.google.com/' || s.startsWith(G))).toBe(true);
  });

  it('every kind of call belongs to exactly one Workspace API resource', () => {
    const listed = Object.values(WORKSPACE_API_NEEDS).flat();
    expect([...listed].sort()).toEqual(Object.keys(REQUIRED_SCOPES).sort());
  });

  it('a need is met by any of its scopes; the challenge names the narrowest of each', () => {
    expect(unmetTokenNeeds(['gmailSend'], [`${G}gmail.modify`], false)).toEqual([]);
    expect(unmetTokenNeeds(['gmailSend', 'driveRead'], [`${G}gmail.readonly`], false)).toEqual(['gmailSend', 'driveRead']);
    expect(scopesToRequest(['driveRead', 'driveContent', 'driveCreate'])).toEqual([`${G}drive.readonly`, `${G}drive.file`]);
  });

  it("on an OAuth client's token drive.file reaches the client's own files for every Drive, Docs and Sheets need, and all of them on a browser sign-in's", () => {
    const needs = Object.keys(REQUIRED_SCOPES) as ScopeNeed[];
    const fileNeeds = ['docsCreate', 'docsRead', 'docsWrite', 'driveContent', 'driveCreate', 'driveRead', 'sheetsCreate', 'sheetsRead', 'sheetsWrite'];
    const reach = (scopes: string[], oauthClient: boolean) => Object.fromEntries(needs.map((n) => [n, tokenReach(n, scopes, oauthClient)]).filter(([, r]) => r !== 'none'));
    expect(reach([`${G}drive.file`], true)).toEqual(Object.fromEntries(fileNeeds.map((n) => [n, 'own'])));
    // A browser sign-in's token speaks for the broker itself, whose drive.file Google limits to the broker's files.
    expect(reach([`${G}drive.file`], false)).toEqual(Object.fromEntries(fileNeeds.map((n) => [n, 'all'])));
    expect(unmetTokenNeeds(needs, [`${G}drive.file`], true).sort()).toEqual(needs.filter((n) => !fileNeeds.includes(n)).sort());
    // A broader scope for a need reaches every file for it; drive.file still limits the needs nothing else meets.
    expect(reach([`${G}drive.file`, `${G}documents.readonly`], true)).toMatchObject({ docsRead: 'all', docsWrite: 'own', driveRead: 'own' });
    expect(reach([`${G}drive.file`, `${G}drive.metadata.readonly`], true)).toMatchObject({ driveRead: 'all', driveContent: 'own' });
    expect(reach([`${G}drive.readonly`, `${G}drive.file`], true)).toMatchObject({ driveRead: 'all', driveContent: 'all', driveCreate: 'own', docsRead: 'all', docsWrite: 'own' });
    expect(reach([`${G}drive`], true)).toEqual(Object.fromEntries(fileNeeds.map((n) => [n, 'all'])));
    // What a client limited to its own files steps up to: the narrowest scope that reaches every file.
    expect(Object.fromEntries(fileNeeds.map((n) => [n, everyFileScope(n as ScopeNeed).replace(G, '')]))).toEqual({
      docsCreate: 'documents', docsRead: 'documents.readonly', docsWrite: 'documents', driveContent: 'drive.readonly', driveCreate: 'drive', driveRead: 'drive.readonly', sheetsCreate: 'spreadsheets', sheetsRead: 'spreadsheets.readonly', sheetsWrite: 'spreadsheets',
    });
  });

  it('every Workspace route is scope-checked, declares what the catalogue says, within its own API', () => {
    const controllers = Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, WorkspaceModule) as Array<new (...a: never[]) => object>;
    let checked = 0;
    for (const controller of controllers) {
      expect([controller.name, (Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[]).includes(TokenScopeGuard)]).toEqual([controller.name, true]);
      const base = String(Reflect.getMetadata(PATH_METADATA, controller));
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name] as object;
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const path = [base, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((p) => p && p !== '/').join('/').replace('v1/users/:userId/', '');
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const needs = needsOfHandler(handler) as ScopeNeed[];
        const api = path.split('/')[0];
        expect({ route: `${method} ${path}`, declared: needs?.length > 0, ownApi: needs?.every((n) => WORKSPACE_API_NEEDS[api]?.includes(n)) }).toEqual({ route: `${method} ${path}`, declared: true, ownApi: true });
        const op = WORKSPACE_CATALOGUE.find((o) => o.http.method === method && o.http.path === path);
        expect({ route: `${method} ${path}`, needs }).toEqual({ route: `${method} ${path}`, needs: [op?.scope] });
        checked++;
      }
    }
    expect(checked).toBe(WORKSPACE_CATALOGUE.length);
  });
});
