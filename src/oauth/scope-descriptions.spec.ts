import { SCOPE_VOCABULARY } from '../common/google-scopes.js';
import { describeScope, undescribedScopes } from './scope-descriptions.js';

describe('scope descriptions on the consent page', () => {
  it('describes every scope of the vocabulary in words', () => {
    expect(undescribedScopes()).toEqual([]);
    for (const scope of SCOPE_VOCABULARY) expect(describeScope(scope)).not.toContain('https://');
  });

  it('shows a scope it has no words for as it is', () => {
    expect(describeScope('https://example.com/unknown')).toBe('https://example.com/unknown');
  });
});
