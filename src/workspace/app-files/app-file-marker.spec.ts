import { createHash } from 'node:crypto';
import { carriesMarker, fileScopeOf, MARKER_KEY, markedProperties, markerOf } from './app-file-marker.js';

const G = 'https://www.googleapis.com/auth/';
const E = 'ada@example.com';

describe('drive.file marks per OAuth client', () => {
  it("marks with the SHA-256 of the client_id and the user, whole, within Drive's 124 bytes of key and value even for a long CIMD URL", () => {
    const cimd = `https://clients.example.com/${'a'.repeat(2000)}/client.json`;
    expect(markerOf(cimd, 'ada@example.com')).toBe(createHash('sha256').update(`${cimd}\nada@example.com`).digest('base64url'));
    expect(Buffer.byteLength(MARKER_KEY + markerOf(cimd, 'ada@example.com'), 'utf8')).toBeLessThanOrEqual(124);
    expect(markerOf('client-a', 'ada@example.com')).not.toBe(markerOf('client-b', 'ada@example.com'));
    // Per user, as Google grants drive.file: the same client's files of another user are not this user's.
    expect(markerOf('client-a', 'ada@example.com')).not.toBe(markerOf('client-a', 'bob@example.com'));
    expect(markerOf('client-a', 'ada@example.com')).toMatch(/^[A-Za-z0-9_-]{43}$/); // safe inside a query's string literal
  });

  it('holds only OAuth clients with drive.file to marks, and limits a call to its own files only where nothing broader meets it', () => {
    expect(fileScopeOf({ email: E, scopes: [`${G}drive.file`] }, ['driveRead'])).toBeUndefined(); // a browser sign-in
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.readonly`] }, ['driveRead'])).toBeUndefined();
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`] }, ['driveRead'])).toEqual({ marker: markerOf('c', E), ownOnly: true, stepUp: [`${G}drive.readonly`], markRequired: false });
    // It still marks what it creates when a broader scope reaches every file, and needs the mark: its Drive calls
    // (metadata, content) reach the Doc through drive.file alone.
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`, `${G}documents`] }, ['docsCreate'])).toEqual({ marker: markerOf('c', E), ownOnly: false, stepUp: [], markRequired: true });
    // drive beside drive.file reaches every file for every call: the mark is for later tokens only.
    // So do drive.readonly with documents (or spreadsheets) for what reaches a Doc (or Sheet): drive.file only creates.
    const mcpScopes = [`${G}drive.readonly`, `${G}drive.file`, `${G}documents`];
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: mcpScopes }, ['docsCreate'])?.markRequired).toBe(false);
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: mcpScopes }, ['sheetsCreate'])?.markRequired).toBe(true); // sheetsWrite is drive.file's
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: mcpScopes }, ['driveCreate'])?.markRequired).toBe(true); // a folder is a parent only through drive.file
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`, `${G}drive`] }, ['docsCreate'])).toEqual({ marker: markerOf('c', E), ownOnly: false, stepUp: [], markRequired: false });
    // Only the needs drive.file alone meets are limited: a metadata token's fullText search, not its listing.
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`, `${G}drive.metadata.readonly`] }, ['driveRead'])?.ownOnly).toBe(false);
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`, `${G}drive.metadata.readonly`] }, ['driveRead', 'driveContent'])?.stepUp).toEqual([`${G}drive.readonly`]);
    // Creating inside a folder needs the folder: drive.readonly reads it, but only drive writes into any folder.
    expect(fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.readonly`, `${G}drive.file`] }, ['driveCreate'])?.stepUp).toEqual([`${G}drive`]);
  });

  it('marks what any OAuth client creates, whatever its scope, as Google counts drive.file, and costs nothing where nothing is created', () => {
    for (const [scopes, need] of [
      [[`${G}drive`], 'driveCreate'],
      [[`${G}documents`], 'docsCreate'],
      [[`${G}spreadsheets`], 'sheetsCreate'],
      [[`${G}drive.readonly`, `${G}spreadsheets`], 'sheetsCreate'],
    ] as const) {
      expect({ scopes, need, files: fileScopeOf({ email: E, clientId: 'c', scopes }, [need]) }).toEqual({ scopes, need, files: { marker: markerOf('c', E), ownOnly: false, stepUp: [], markRequired: false } });
    }
    // Reads and changes of a token without drive.file are not held to marks: no FileScope, so no mark check.
    for (const need of ['driveRead', 'driveContent', 'docsRead', 'docsWrite', 'sheetsWrite', 'gmailRead'] as const) {
      expect({ need, files: fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive`, `${G}gmail.readonly`] }, [need]) }).toEqual({ need, files: undefined });
    }
    // A browser sign-in's creations stay unmarked, whatever its scopes.
    expect(fileScopeOf({ email: E, scopes: [`${G}drive`] }, ['driveCreate'])).toBeUndefined();
    expect(fileScopeOf({ email: E, scopes: [`${G}drive.file`] }, ['docsCreate'])).toBeUndefined();
  });

  it('puts the mark on what a call creates and recognises it on what files.get answers', () => {
    const files = fileScopeOf({ email: E, clientId: 'c', scopes: [`${G}drive.file`] }, ['driveCreate']);
    expect(markedProperties(files)).toEqual({ appProperties: { [MARKER_KEY]: markerOf('c', E) } });
    expect(markedProperties(undefined)).toEqual({});
    expect(carriesMarker({ [MARKER_KEY]: markerOf('c', E), other: 'x' }, markerOf('c', E))).toBe(true);
    for (const properties of [undefined, null, {}, { [MARKER_KEY]: markerOf('d', E) }, { other: markerOf('c', E) }, 'x']) {
      expect(carriesMarker(properties, markerOf('c', E))).toBe(false);
    }
  });
});
