import { Controller, Get, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { Public } from '../common/public.decorator.js';
import { AppConfig } from '../config/app-config.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { protectedResourceMetadata } from './oauth-metadata.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * RFC 9728 protected resource metadata, one document per resource (section 3.1): the resource `<base>/<path>` is
 * described at `/.well-known/oauth-protected-resource/<path>`, with `resource` equal to `<base>/<path>`, so a client
 * checking it strictly (section 3.3) accepts it. The whole service is described at the bare well-known path.
 */
@ApiTags('oauth')
@Public()
@Controller()
export class ResourceMetadataController {
  constructor(
    private readonly resources: ProtectedResources,
    private readonly config: AppConfig,
  ) {}

  /** The whole service. */
  @Get('.well-known/oauth-protected-resource')
  root() {
    return protectedResourceMetadata(this.config.values.jwt.issuer, this.resources.root);
  }

  /** One resource of the service, named by the path after the well-known prefix. */
  @Get('.well-known/oauth-protected-resource/*')
  byPath(@Req() req: FastifyRequest) {
    const path = req.url.split('?')[0].slice(WELL_KNOWN.length);
    const resource = this.resources.byPath(path);
    if (!resource) {
      const known = this.resources.list().map((r) => r.metadataUrl).join(', ');
      throw new DomainError(404, 'not_found', `${path.slice(0, 200)} is not a protected resource of this service. Its resource metadata documents are: ${known}.`);
    }
    return protectedResourceMetadata(this.config.values.jwt.issuer, resource);
  }
}
