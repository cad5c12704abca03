import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** What a module that serves a protected resource tells the registry about it. */
export interface ResourceRegistration {
  /** The resource's path below PUBLIC_URL (`/v1/users/me/gmail`, `/mcp`); its identifier is PUBLIC_URL + path. */
  path: string;
  /** Route templates (as Fastify names them, `/v1/users/:userId/gmail`) whose routes, and those below, belong to it. */
  routes: string[];
  /** Shown to people in its metadata (`resource_name`). */
  name: string;
  /** Every scope a token may carry to use some operation of the resource (`scopes_supported`). */
  scopesSupported: readonly string[];
  /** The least-privilege scopes that together unlock every operation (the `scope` of a 401 challenge). */
  scopesToRequest: readonly string[];
  /**
   * How a caller gets a token for this resource, the next step closing every 401 the bearer guard answers on its
   * routes (no token, an unreadable header, a forged, expired or ended one, one for another resource), where signing
   * in at /auth/google (the default, for REST callers) is not it: the MCP endpoint's callers are applications, which
   * get their tokens through OAuth (the challenge's resource_metadata) and which the person connects, not signs in.
   */
  signInHint?: string;
}

/** A protected resource of this service, as RFC 8707 and RFC 9728 see it. */
export interface ProtectedResource extends ResourceRegistration {
  /** PUBLIC_URL + path: the RFC 8707 `resource` value and the token's `aud`. */
  identifier: string;
  /** Where its RFC 9728 metadata is served (`/.well-known/oauth-protected-resource` + path). */
  metadataUrl: string;
}

const METADATA_PATH = '/.well-known/oauth-protected-resource';

/**
 * The protected resources of this service: the whole service (PUBLIC_URL) plus those the feature modules register
 * at start-up (each Workspace API, the MCP endpoint). It answers which resource a route belongs to, whether a
 * token's audience may be used there, and what the metadata and challenges say. Registration keeps the
 * dependencies one way: `sessions` knows no Workspace API, the modules that serve them describe them here.
 *
 * A token's audience covers a route when it is JWT_AUDIENCE (the browser sign-in's default), the whole service,
 * the route's own resource, or a registered resource whose path contains it (`/v1` covers `/v1/users/me/gmail`).
 * Routes are matched by template, so `me` and the caller's own email in `{userId}` are the same resource (the
 * user isolation guard decides who may name which user).
 */
@Injectable()
export class ProtectedResources {
  private readonly base: string;
  private readonly audience: string;
  private readonly registered = new Map<string, ProtectedResource>();
  // Both computed on first use after the last registration: every authenticated request asks for them (the bearer
  // guard), and rebuilding the whole service's scope lists each time was 8% of GET /auth/session's CPU.
  private rootResource?: ProtectedResource;
  /** By route template (a bounded set: the routes of the app), never by request path. */
  private readonly byRoute = new Map<string | undefined, ProtectedResource>();

  constructor(config: AppConfig) {
    this.base = config.values.publicUrl;
    this.audience = config.values.jwt.audience;
  }

  /** Adds a resource; called by feature modules when they start. */
  register(resource: ResourceRegistration): void {
    if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(resource.path)) throw new Error(`resource path ${resource.path} must be an absolute path without a trailing slash`);
    this.registered.set(resource.path, { ...resource, identifier: this.base + resource.path, metadataUrl: this.base + METADATA_PATH + resource.path });
    this.rootResource = undefined;
    this.byRoute.clear();
  }

  /** The whole service: every registered resource's scopes, every route that belongs to no narrower resource. */
  get root(): ProtectedResource {
    return (this.rootResource ??= this.wholeService());
  }

  private wholeService(): ProtectedResource {
    const all = [...this.registered.values()];
    return {
      path: '',
      routes: ['/'],
      name: 'Google Workspace credential broker',
      scopesSupported: unique(all.flatMap((r) => r.scopesSupported)),
      scopesToRequest: unique(all.flatMap((r) => r.scopesToRequest)),
      identifier: this.base,
      metadataUrl: this.base + METADATA_PATH,
    };
  }

  /** Every resource, the whole service first. */
  list(): ProtectedResource[] {
    return [this.root, ...this.registered.values()];
  }

  /** The resource whose metadata lives at `/.well-known/oauth-protected-resource{path}`, if any. */
  byPath(path: string): ProtectedResource | undefined {
    return path === '' || path === '/' ? this.root : this.registered.get(path);
  }

  /** The resource an RFC 8707 `resource` parameter names (`PUBLIC_URL/` counts as PUBLIC_URL), if it is ours. */
  byIdentifier(identifier: string): ProtectedResource | undefined {
    if (identifier === this.base || identifier === `${this.base}/`) return this.root;
    if (!identifier.startsWith(`${this.base}/`)) return undefined;
    return this.registered.get(identifier.slice(this.base.length));
  }

  /** The narrowest resource a route (its template, e.g. `/v1/users/:userId/gmail/messages`) belongs to. */
  forRoute(routeTemplate: string | undefined): ProtectedResource {
    let resource = this.byRoute.get(routeTemplate);
    if (!resource) {
      resource = this.narrowest(routeTemplate);
      this.byRoute.set(routeTemplate, resource);
    }
    return resource;
  }

  private narrowest(routeTemplate: string | undefined): ProtectedResource {
    let best: ProtectedResource | undefined;
    let bestLength = -1;
    for (const r of this.registered.values()) {
      for (const prefix of r.routes) {
        const inside = routeTemplate === prefix || routeTemplate?.startsWith(`${prefix}/`);
        if (inside && prefix.length > bestLength) {
          best = r;
          bestLength = prefix.length;
        }
      }
    }
    return best ?? this.root;
  }

  /** Whether a token for `audience` may be used on `resource`. */
  covers(audience: string | string[] | undefined, resource: ProtectedResource): boolean {
    const audiences = Array.isArray(audience) ? audience : audience === undefined ? [] : [audience];
    return audiences.some((aud) => {
      if (aud === this.audience) return true;
      const granted = this.byIdentifier(aud);
      if (!granted) return false;
      return granted.path === '' || resource.path === granted.path || resource.path.startsWith(`${granted.path}/`);
    });
  }

  /** The scopes of `scopes` that some resource supports (the vocabulary), order kept, duplicates dropped. */
  known(scopes: readonly string[]): string[] {
    const vocabulary = new Set(this.root.scopesSupported);
    return unique(scopes.filter((s) => vocabulary.has(s)));
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
