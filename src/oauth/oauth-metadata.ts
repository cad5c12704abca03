/** RFC 8414 authorization server metadata for this service. */
export function authorizationServerMetadata(issuer: string, base: string, opts: { registration: boolean; jwks: boolean }) {
  return {
    issuer,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    ...(opts.registration ? { registration_endpoint: `${base}/oauth/register` } : {}),
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    ...(opts.jwks ? { jwks_uri: `${base}/.well-known/jwks.json` } : {}),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    authorization_response_iss_parameter_supported: true,
  };
}

/** RFC 9728 protected resource metadata: the Workspace API is protected by this same server. */
export function protectedResourceMetadata(issuer: string, base: string) {
  return {
    resource: base,
    authorization_servers: [issuer],
    bearer_methods_supported: ['header'],
    resource_name: 'Google Workspace credential broker',
  };
}
