import { BadRequestException, Logger } from '@nestjs/common';
import { DomainError } from '../../common/domain-error.js';
import { WORKSPACE_CATALOGUE } from './catalogue.js';
import { documentedResult, operationFailure } from './documented-results.js';

const op = (tool: string) => WORKSPACE_CATALOGUE.find((o) => o.tool === tool)!;

describe('documented results', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('passes a result of the documented shape on as the same object', () => {
    const page = { messages: [{ id: 'a1', threadId: 't1' }], nextPageToken: null, resultSizeEstimate: 1 };
    expect(documentedResult(op('search_gmail_messages'), page)).toBe(page);
  });

  it('refuses a result of another shape with a 502 that says what to do next', () => {
    const bad = { messages: 'x', nextPageToken: null, resultSizeEstimate: 1 };
    expect(() => documentedResult(op('search_gmail_messages'), bad)).toThrow(expect.objectContaining({ status: 502, error: 'google_unavailable', message: expect.stringMatching(/Retry in a few seconds/) }));
    const sent = { id: { odd: true }, threadId: 't1', labelIds: [] };
    expect(() => documentedResult(op('send_gmail_message'), sent)).toThrow(expect.objectContaining({ status: 502, message: expect.stringMatching(/may have been made/) }));
  });

  it('turns a failure to read an answer into the same 502; domain and HTTP errors pass unchanged', () => {
    expect(operationFailure(op('get_gmail_thread_content'), new TypeError('x.map is not a function'))).toMatchObject({ status: 502, error: 'google_unavailable' });
    const domain = new DomainError(404, 'not_found', 'no such message');
    expect(operationFailure(op('get_gmail_thread_content'), domain)).toBe(domain);
    const http = new BadRequestException('bad');
    expect(operationFailure(op('get_gmail_thread_content'), http)).toBe(http);
  });
});
