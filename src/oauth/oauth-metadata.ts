import type { ProtectedResource } from '../sessions/protected-resources.js';
import { SCOPE_VOCABULARY } from '../common/google-scopes.js';

/** RFC 8414 authorization server metadata for this service. */
export function authorizationServerMetadata(issuer: string, base: string, opts: { registration: boolean; jwks: boolean; clientMetadataDocuments?: boolean }) {
  return {
    issuer,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    ...(opts.registration ? { registration_endpoint: `${base}/oauth/register` } : {}),
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    ...(opts.jwks ? { jwks_uri: `${base}/.well-known/jwks.json` } : {}),
    // The scope vocabulary: Google's scope URLs (offline_access is accepted too, and ignored).
    scopes_supported: [...SCOPE_VOCABULARY],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    authorization_response_iss_parameter_supported: true,
    // A client_id may be the https URL of its Client ID Metadata Document (client-metadata-document.ts).
    ...(opts.clientMetadataDocuments ? { client_id_metadata_document_supported: true } : {}),
  };
}

/** RFC 9728 protected resource metadata of one resource; this same server issues its tokens. */
export function protectedResourceMetadata(issuer: string, resource: ProtectedResource) {
  return {
    resource: resource.identifier,
    authorization_servers: [issuer],
    scopes_supported: [...resource.scopesSupported],
    bearer_methods_supported: ['header'],
    resource_name: resource.name,
  };
}
