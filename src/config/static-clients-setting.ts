import { z } from 'zod';

/** One OAuth client the operator registers in the configuration (OAUTH_STATIC_CLIENTS). */
const staticClient = z.strictObject({
  client_id: z.string().regex(/^[A-Za-z0-9._-]{3,100}$/),
  client_name: z.string().max(200).optional(),
  redirect_uris: z.array(z.string().min(1)).min(1),
  /** hex SHA-256 of the client secret; absent for a public client. */
  client_secret_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** How a confidential client authenticates (default client_secret_basic); a public client is always `none`. */
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).min(1).optional(),
  /** The operator's own application: the person is not asked to approve it. */
  first_party: z.boolean().optional(),
});

export type StaticClient = z.infer<typeof staticClient>;

/** OAUTH_STATIC_CLIENTS: a JSON list of clients, or none; a bad one is named with the shape it must have. */
export const staticClientsSetting = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (!v) return [];
    try {
      return z.array(staticClient).parse(JSON.parse(v));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON list of {client_id, redirect_uris, client_name?, client_secret_sha256?, token_endpoint_auth_method?, grant_types?, first_party?}: ${(err as Error).message.slice(0, 200)}` });
      return z.NEVER;
    }
  });
