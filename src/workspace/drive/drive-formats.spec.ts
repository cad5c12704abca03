import { DomainError } from '../../common/domain-error.js';
import { attachmentDisposition, planContent } from './drive-formats.js';

const DOC = 'application/vnd.google-apps.document';
const SHEET = 'application/vnd.google-apps.spreadsheet';

describe('planContent', () => {
  it('downloads a binary file as it is, under its own name', () => {
    expect(planContent({ name: 'a.pdf', mimeType: 'application/pdf' }, undefined)).toEqual({ kind: 'media', mimeType: 'application/pdf', fileName: 'a.pdf' });
  });

  it.each([
    [DOC, undefined, 'text/plain', 'Plan.txt'],
    [DOC, 'markdown', 'text/markdown', 'Plan.md'],
    [DOC, 'pdf', 'application/pdf', 'Plan.pdf'],
    [SHEET, undefined, 'text/csv', 'Plan.csv'],
    [SHEET, 'pdf', 'application/pdf', 'Plan.pdf'],
  ] as const)('exports %s as %s -> %s', (mimeType, format, exported, fileName) => {
    expect(planContent({ name: 'Plan', mimeType }, format)).toEqual({ kind: 'export', mimeType: exported, fileName });
  });

  it.each([
    ['a conversion of a binary file', { name: 'a.pdf', mimeType: 'application/pdf' }, 'text' as const, /Omit "format"/],
    ['a format the type has not', { name: 'Plan', mimeType: SHEET }, 'markdown' as const, /csv, pdf/],
    ['a folder', { name: 'F', mimeType: 'application/vnd.google-apps.folder' }, undefined, /no content/],
  ])('refuses %s with a 400 saying what to do', (_what, file, format, message) => {
    const thrown = (() => {
      try {
        planContent(file, format);
      } catch (err) {
        return err;
      }
    })() as DomainError;
    expect(thrown).toBeInstanceOf(DomainError);
    expect(thrown.status).toBe(400);
    expect(thrown.message).toMatch(message);
  });
});

describe('attachmentDisposition', () => {
  it('keeps a plain name and encodes any other so no header can be injected', () => {
    expect(attachmentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    const tricky = attachmentDisposition('Bericht "Q1"\r\nX: y ü.txt');
    expect(tricky).not.toMatch(/[\r\n]/);
    expect(tricky).toContain(`filename*=UTF-8''Bericht%20%22Q1%22%0D%0AX%3A%20y%20%C3%BC.txt`);
    expect(tricky).toContain('filename="Bericht _Q1___X: y _.txt"');
  });
});
