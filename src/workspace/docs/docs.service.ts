import { Injectable } from '@nestjs/common';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { NewDocumentBody, ReplaceTextBody } from './docs.schemas.js';
import { documentText } from './document-text.js';

/** Google Docs as the signed-in user. */
@Injectable()
export class DocsService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** The document as Google structures it (body, styles, lists, ...). */
  async getDocument(email: string, documentId: string) {
    return this.google.call(email, 'Docs', 'docsRead', async (u) => (await this.apis.docs(u).documents.get({ documentId })).data);
  }

  /** The document's title and plain text. */
  async getText(email: string, documentId: string) {
    const doc = await this.getDocument(email, documentId);
    return { documentId: doc.documentId, title: doc.title, revisionId: doc.revisionId ?? null, text: documentText(doc) };
  }

  /** Creates a document, with `text` as its first content. Not retried: a retry could create it twice. */
  async create(email: string, body: NewDocumentBody) {
    const created = await this.google.call(email, 'Docs', 'docsCreate', async (u) => (await this.apis.docs(u).documents.create({ requestBody: { title: body.title } })).data, { idempotent: false, action: 'docs.document.create' });
    const documentId = created.documentId as string;
    if (body.text) {
      // Still the creation: the document is the one just made, so drive.file (which may create) covers it.
      await this.google.call(
        email,
        'Docs',
        'docsCreate',
        async (u) => (await this.apis.docs(u).documents.batchUpdate({ documentId, requestBody: { requests: [{ insertText: { location: { index: 1 }, text: body.text } }] } })).data,
        { idempotent: false, action: 'docs.text.insert', target: documentId },
      );
    }
    return { documentId, title: created.title, url: `https://docs.google.com/document/d/${documentId}/edit` };
  }

  /** Replaces every occurrence of `find`; says how many changed. Not retried (replacing twice is not replacing once). */
  async replaceText(email: string, documentId: string, body: ReplaceTextBody) {
    const data = await this.google.call(
      email,
      'Docs',
      'docsWrite',
      async (u) =>
        (
          await this.apis.docs(u).documents.batchUpdate({
            documentId,
            requestBody: { requests: [{ replaceAllText: { containsText: { text: body.find, matchCase: body.matchCase }, replaceText: body.replace } }] },
          })
        ).data,
      { idempotent: false, action: 'docs.text.replace', target: documentId },
    );
    // Docs leaves occurrencesChanged out when nothing matched.
    return { documentId, occurrencesChanged: data.replies?.[0]?.replaceAllText?.occurrencesChanged ?? 0 };
  }
}
