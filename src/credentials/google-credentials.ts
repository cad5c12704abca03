/** One user's Google OAuth credentials, as the service uses them. */
export interface GoogleCredentials {
  email: string;
  token?: string;
  refreshToken?: string;
  tokenUri: string;
  clientId: string;
  scopes: string[];
  expiry?: Date;
  updatedAt?: Date;
}

/** What a writer wants to change; a field left undefined keeps the stored value. */
export type CredentialsPatch = Partial<Omit<GoogleCredentials, 'email' | 'updatedAt'>>;

/** The S3 document (google-auth authorized-user field names, so the Python server's files are read too). */
export interface CredentialsDocument {
  version: 1;
  email: string;
  token?: string;
  refresh_token?: string;
  token_uri: string;
  client_id: string;
  scopes: string[];
  expiry?: string;
  updated_at: string;
}

/**
 * Reads a stored document. Accepts our format and google_workspace_mcp's: `scopes` as a list or a space separated
 * string, `expiry` without a time zone (google-auth writes naive UTC), extra fields such as `client_secret`.
 */
export function fromDocument(email: string, raw: unknown): GoogleCredentials | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const d = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const scopes = Array.isArray(d.scopes)
    ? d.scopes.filter((s): s is string => typeof s === 'string')
    : typeof d.scopes === 'string'
      ? d.scopes.split(/\s+/).filter(Boolean)
      : [];
  return {
    email,
    token: str(d.token) ?? str(d.access_token),
    refreshToken: str(d.refresh_token),
    tokenUri: str(d.token_uri) ?? 'https://oauth2.googleapis.com/token',
    clientId: str(d.client_id) ?? '',
    scopes,
    expiry: parseExpiry(d.expiry),
    updatedAt: parseExpiry(d.updated_at),
  };
}

/** The document to store. `client_secret` is never written: it belongs in configuration, not next to user data. */
export function toDocument(c: GoogleCredentials, now = new Date()): CredentialsDocument {
  return {
    version: 1,
    email: c.email,
    token: c.token,
    refresh_token: c.refreshToken,
    token_uri: c.tokenUri,
    client_id: c.clientId,
    scopes: c.scopes,
    expiry: c.expiry?.toISOString(),
    updated_at: now.toISOString(),
  };
}

/** Field-by-field merge: a value missing from the patch never clears a stored one (refresh tokens survive). */
export function mergeCredentials(stored: GoogleCredentials | undefined, email: string, patch: CredentialsPatch): GoogleCredentials {
  const base: GoogleCredentials = stored ?? { email, tokenUri: patch.tokenUri ?? '', clientId: patch.clientId ?? '', scopes: [] };
  return {
    email,
    token: patch.token || base.token,
    refreshToken: patch.refreshToken || base.refreshToken,
    tokenUri: patch.tokenUri || base.tokenUri,
    clientId: patch.clientId || base.clientId,
    scopes: patch.scopes && patch.scopes.length > 0 ? patch.scopes : base.scopes,
    expiry: patch.expiry ?? base.expiry,
    updatedAt: base.updatedAt,
  };
}

function parseExpiry(v: unknown): Date | undefined {
  if (typeof v !== 'string' || v.length === 0) return undefined;
  // google-auth writes "2025-06-01T10:00:00.123456" (naive, UTC, microseconds); Date wants milliseconds and a zone.
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(v);
  const trimmed = v.replace(/(\.\d{3})\d+/, '$1');
  const d = new Date(hasZone ? trimmed : `${trimmed}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
