import { Controller, Delete, Get, HttpCode, Param, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../common/domain-error.js';
import { Public } from '../common/public.decorator.js';
import { unauthorizedChallenge } from '../sessions/bearer-challenge.js';
import { bearerFromHeader } from '../sessions/bearer-auth.guard.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { ClientDisconnection, type ConnectedClient } from './client-disconnection.js';

/**
 * The person's connected applications (OAuth clients they approved), under /auth with the rest of their account.
 * Public to the bearer guard: like /auth/revoke, only the bearer of the person's own sign-in is accepted, which
 * ClientDisconnection checks (an OAuth client's token, whatever its audience, is 403).
 */
@ApiTags('auth')
@Controller('auth/clients')
export class ConnectedClientsController {
  constructor(
    private readonly disconnection: ClientDisconnection,
    private readonly resources: ProtectedResources,
  ) {}

  /** The OAuth clients the token's user has approved. */
  @Public()
  @Get()
  @ApiBearerAuth('bearer')
  list(@Req() req: FastifyRequest): Promise<{ clients: ConnectedClient[] }> {
    return this.disconnection.list(this.bearerOf(req));
  }

  /** Disconnects one OAuth client of the token's user: its approval, refresh tokens and sessions end. */
  @Public()
  @Delete(':clientId')
  @HttpCode(200)
  @ApiBearerAuth('bearer')
  @ApiParam({ name: 'clientId', description: 'The client_id, URL-encoded (a metadata document client_id is a URL).' })
  disconnect(@Req() req: FastifyRequest, @Param('clientId') clientId: string): Promise<{ disconnected: true }> {
    return this.disconnection.disconnect(this.bearerOf(req), clientId, req.ip);
  }

  private bearerOf(req: FastifyRequest): string {
    const token = bearerFromHeader(req.headers.authorization);
    if (!token) {
      throw new UnauthorizedError('A bearer token is required: send "Authorization: Bearer <token>" of your browser sign-in (/auth/google).', 'missing_token', {
        'WWW-Authenticate': unauthorizedChallenge(this.resources.root, false),
      });
    }
    return token;
  }
}
