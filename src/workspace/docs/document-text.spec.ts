import { documentText } from './document-text.js';

const para = (...runs: string[]) => ({ paragraph: { elements: runs.map((content) => ({ textRun: { content } })) } });

describe('documentText', () => {
  it('joins paragraphs and their runs in order, and table cells with tabs', () => {
    const text = documentText({
      body: {
        content: [
          { sectionBreak: {} },
          para('Hello ', 'world\n'),
          { table: { tableRows: [{ tableCells: [{ content: [para('a\n')] }, { content: [para('b\n')] }] }, { tableCells: [{ content: [para('c\n')] }, { content: [para('d\n')] }] }] } },
          { tableOfContents: { content: [para('Contents\n')] } },
          para('End\n'),
        ],
      },
    });
    expect(text).toBe('Hello world\na\tb\nc\td\nContents\nEnd\n');
  });

  it('is empty for a document without a body', () => {
    expect(documentText({ title: 'x' })).toBe('');
  });
});
