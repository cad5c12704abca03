import { SCOPE_VOCABULARY } from '../common/google-scopes.js';
import { describeScope, undescribedScopes } from './scope-descriptions.js';

describe('scope descriptions on the consent page', () => {
  it('describes every scope of the vocabulary in words', () => {
    expect(undescribedScopes()).toEqual([]);
    for (const scope of SCOPE_VOCABULARY) expect(describeScope(scope)).not.toContain('https://');
  });

  it("tells the person that drive.file reaches the files the application itself created, and no others", () => {
    expect(describeScope('https://www.googleapis.com/auth/drive.file')).toBe('Create new files, folders, Docs and Sheets in your Google Drive, and see and change the ones this application created (not the others you have).');
  });

  it('shows a scope it has no words for as it is', () => {
    expect(describeScope('https://example.com/unknown')).toBe('https://example.com/unknown');
  });
});
