import { contentFields, driveContentNeeds, searchesContent } from './content-terms.js';
import { unmetInputNeed } from '../input-scope.js';

const G = 'https://www.googleapis.com/auth/';

describe('Drive content terms', () => {
  it('finds fullText outside string literals, in any clause, however it is spelled', () => {
    for (const q of [
      "fullText contains 'budget'",
      "name contains 'a' and fullText contains 'b'",
      "(fullText contains 'x')",
      "not fullText contains 'x'",
      "FULLTEXT contains 'x'",
      "name contains 'it\\'s' or fullText contains 'x'",
      "name contains 'a\\\\' and fullText contains 'x'",
      // Read with double-quoted literals too, so hiding it between a ' and a " does not work either way.
      `name contains "'" and fullText contains 'x' and name contains "'"`,
    ]) {
      expect({ q, refused: searchesContent(q) }).toEqual({ q, refused: true });
    }
  });

  it('leaves metadata queries alone, "fullText" as a searched-for word included', () => {
    for (const q of [
      "name contains 'fullText'",
      "name contains 'it\\'s fullText contains x'",
      "name = 'report' and mimeType = 'application/pdf' and trashed = false",
      "'root' in parents and modifiedTime > '2026-01-01T00:00:00'",
      "name contains 'fullTextual'",
      "properties has { key='fullText' and value='x' }",
      '',
    ]) {
      expect({ q, refused: searchesContent(q) }).toEqual({ q, refused: false });
    }
  });

  it('finds content fields at any depth, and * among the file\'s own fields', () => {
    expect(contentFields('id,name,thumbnailLink')).toEqual(['thumbnailLink']);
    expect(contentFields('contentHints/indexableText')).toEqual(['contentHints']);
    expect(contentFields('contentHints(thumbnail(image))')).toEqual(['contentHints']);
    expect(contentFields('*')).toEqual(['*']);
    expect(contentFields('id, *')).toEqual(['*']);
    // Closing the list route's files(...) early cannot reach the file's fields unseen.
    expect(contentFields('id),files/*,files(id')).toEqual(['*']);
  });

  it('leaves metadata fields alone: links, checksums, nested wildcards', () => {
    for (const fields of ['id,name,mimeType,modifiedTime', 'webViewLink,webContentLink,exportLinks', 'owners(*)', 'capabilities/*', 'md5Checksum,size,imageMediaMetadata', 'hasThumbnail,thumbnailVersion']) {
      expect({ fields, content: contentFields(fields) }).toEqual({ fields, content: [] });
    }
  });

  it('asks for driveContent, saying what to do instead, only of an OAuth client whose token cannot read content', () => {
    const fullText = { q: "fullText contains 'x'" };
    const refused = unmetInputNeed(driveContentNeeds, fullText, [`${G}drive.metadata.readonly`], true);
    expect(refused).toEqual({ need: 'driveContent', because: expect.stringContaining('search by name') });
    expect(unmetInputNeed(driveContentNeeds, { fields: '*' }, [`${G}drive.metadata.readonly`], true)?.because).toContain('every field (*)');
    // drive.file on an OAuth client's token reads the content of its own files, so it searches it (the service limits
    // the search to those files: own-files-query.ts).
    expect(unmetInputNeed(driveContentNeeds, fullText, [`${G}drive.file`, `${G}drive.metadata.readonly`], true)).toBeUndefined();
    expect(unmetInputNeed(driveContentNeeds, fullText, [`${G}drive.readonly`], true)).toBeUndefined();
    expect(unmetInputNeed(driveContentNeeds, fullText, [`${G}drive`], true)).toBeUndefined();
    // A browser sign-in's token is the user's Google grant itself, whose rules Google applies.
    expect(unmetInputNeed(driveContentNeeds, fullText, [`${G}drive.metadata.readonly`], false)).toBeUndefined();
    // Input of the wrong type is left to the input schema.
    expect(unmetInputNeed(driveContentNeeds, { q: ["fullText contains 'x'"] }, [`${G}drive.metadata.readonly`], true)).toBeUndefined();
    expect(unmetInputNeed(driveContentNeeds, { q: "name contains 'a'", fields: 'id,name' }, [`${G}drive.metadata.readonly`], true)).toBeUndefined();
  });
});
