import 'reflect-metadata';
import { GUARDS_METADATA, METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { WORKSPACE_CATALOGUE } from './catalogue/catalogue.js';
import { REQUIRED_SCOPES, SCOPE_VOCABULARY, ScopeNeed, scopesToRequest, unmetTokenNeeds, WORKSPACE_API_NEEDS } from '../common/google-scopes.js';
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

  it('on an OAuth client\'s token drive.file meets only the needs that create something new (the grant behind it reaches every file)', () => {
    const needs = Object.keys(REQUIRED_SCOPES) as ScopeNeed[];
    const met = needs.filter((n) => unmetTokenNeeds([n], [`${G}drive.file`], true).length === 0);
    expect(met.sort()).toEqual(['docsCreate', 'driveCreate', 'sheetsCreate']);
    // The same scope as Google counts it, where Google itself holds the broker to the files it made: the user's grant,
    // and a browser sign-in's token (the person through the broker itself).
    const asGoogleCounts = ['docsCreate', 'docsRead', 'docsWrite', 'driveContent', 'driveCreate', 'driveRead', 'sheetsCreate', 'sheetsRead', 'sheetsWrite'];
    expect(needs.filter((n) => unmetTokenNeeds([n], [`${G}drive.file`], false).length === 0).sort()).toEqual(asGoogleCounts);
    expect(needs.filter((n) => unmetTokenNeeds([n], [`${G}drive.file`], false).length === 0).sort()).toEqual(asGoogleCounts);
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
