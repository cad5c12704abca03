import { a1Range, writeRangeBody } from './sheets.schemas.js';

describe('a1Range', () => {
  it.each(['Sheet1!A1:C10', 'Sheet1', 'A1:B2', "'My sheet'!A:B", "'It''s'!B2", 'Sheet1!1:3', 'Data_2026!AA10'])('accepts %s', (range) => {
    expect(a1Range.safeParse(range).success).toBe(true);
  });

  it.each(['', 'Sheet1!', 'Sheet1!A1:B2:C3', "'unclosed!A1", 'a/b!A1', 'Sheet1!A1\nX', 'Sheet1!ABCD1'])('refuses %j', (range) => {
    expect(a1Range.safeParse(range).success).toBe(false);
  });
});

describe('writeRangeBody', () => {
  it('defaults to RAW input, so text starting with "=" is not run as a formula', () => {
    const body = writeRangeBody.parse({ range: 'Sheet1!A1', values: [['=IMPORTXML("http://x","//a")']] });
    expect(body.valueInputOption).toBe('RAW');
  });

  it('bounds the cells of one request', () => {
    const values = Array.from({ length: 300 }, () => Array(200).fill(1));
    expect(writeRangeBody.safeParse({ range: 'Sheet1', values }).success).toBe(false);
  });
});
