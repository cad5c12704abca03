import { Injectable } from '@nestjs/common';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { FileScope } from '../app-files/app-file-marker.js';
import { AppFiles } from '../app-files/app-files.js';
import type { NewDocumentBody, ReplaceTextBody } from './docs.schemas.js';
import { documentText } from './document-text.js';

/** Google Docs as the signed-in user. */
@Injectable()
export class DocsService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
    private readonly appFiles: AppFiles,
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

  /**
   * Creates a document, with `text` as its first content, marked as the OAuth client's when `files` says so: before
   * the text goes in, so a client whose text failed to go in can still reach the document. Not retried: a retry
   * could create it twice.
   */
  async create(email: string, body: NewDocumentBody, files?: FileScope) {
    const created = await this.google.call(email, 'Docs', 'docsCreate', async (u) => (await this.apis.docs(u).documents.create({ requestBody: { title: body.title } })).data, { idempotent: false, action: 'docs.document.create' });
    const documentId = created.documentId as string;
    const url = `https://docs.google.com/document/d/${documentId}/edit`;
    await this.appFiles.markCreated(email, files, { kind: 'document', id: documentId, url });
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
    return { documentId, title: created.title, url };
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
