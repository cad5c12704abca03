import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/domain-error.js';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { BatchQuery, LabelChangeBody, OutgoingMailBody } from './gmail.schemas.js';
import { buildRawMessage, decodeMessage } from './mime.js';

const BATCH_CONCURRENCY = 5;

/** Gmail as the signed-in user. */
@Injectable()
export class GmailService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** One message: headers, decoded text and HTML bodies, attachments listed. */
  async getMessage(email: string, id: string) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (u) => (await this.apis.gmail(u).users.messages.get({ userId: 'me', id, format: 'full' })).data);
    return decodeMessage(data);
  }

  /**
   * Several messages at once; ids Google does not know are listed in `notFound`. At most BATCH_CONCURRENCY calls
   * run at a time: Gmail limits concurrent requests per user, and a 50-id batch must not trip it by itself.
   */
  async getMessages(email: string, query: BatchQuery) {
    const found = new Map<string, ReturnType<typeof decodeMessage>>();
    const queue = [...query.ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          found.set(id, await this.getMessage(email, id));
        } catch (err) {
          if (!(err instanceof DomainError && err.status === 404)) {
            queue.length = 0; // the batch has failed: the other workers stop taking ids
            throw err;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, query.ids.length) }, worker));
    return { messages: query.ids.flatMap((id) => (found.has(id) ? [found.get(id)] : [])), notFound: query.ids.filter((id) => !found.has(id)) };
  }

  /** One attachment's bytes, base64url. */
  async getAttachment(email: string, messageId: string, attachmentId: string) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (u) => (await this.apis.gmail(u).users.messages.attachments.get({ userId: 'me', messageId, id: attachmentId })).data);
    return { attachmentId, size: data.size ?? 0, data: data.data ?? '' };
  }

  /** A thread with its messages decoded. */
  async getThread(email: string, id: string) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (u) => (await this.apis.gmail(u).users.threads.get({ userId: 'me', id, format: 'full' })).data);
    return { id: data.id, messages: (data.messages ?? []).map(decodeMessage) };
  }

  /** The mailbox's labels. */
  async listLabels(email: string) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (u) => (await this.apis.gmail(u).users.labels.list({ userId: 'me' })).data);
    return { labels: data.labels ?? [] };
  }

  /** Adds and removes labels on a message. */
  async changeLabels(email: string, id: string, body: LabelChangeBody) {
    const data = await this.google.call(email, 'Gmail', 'gmailModify', async (u) =>
      (await this.apis.gmail(u).users.messages.modify({ userId: 'me', id, requestBody: { addLabelIds: body.add, removeLabelIds: body.remove } })).data,
      { action: 'gmail.labels.change', target: id },
    );
    return { id: data.id, threadId: data.threadId, labelIds: data.labelIds ?? [] };
  }

  /** Sends a message built from JSON; a reply names `threadId` (and `inReplyTo`) to stay in its thread. Not retried. */
  async send(email: string, body: OutgoingMailBody) {
    const raw = buildRawMessage({ from: email, ...body });
    const data = await this.google.call(
      email,
      'Gmail',
      'gmailSend',
      async (u) => (await this.apis.gmail(u).users.messages.send({ userId: 'me', requestBody: { raw, threadId: body.threadId } })).data,
      { idempotent: false, action: 'gmail.message.send' },
    );
    return { id: data.id, threadId: data.threadId, labelIds: data.labelIds ?? [] };
  }

  /** Saves a draft. */
  async createDraft(email: string, body: OutgoingMailBody) {
    const raw = buildRawMessage({ from: email, ...body });
    const data = await this.google.call(
      email,
      'Gmail',
      'gmailCompose',
      async (u) => (await this.apis.gmail(u).users.drafts.create({ userId: 'me', requestBody: { message: { raw, threadId: body.threadId } } })).data,
      { idempotent: false, action: 'gmail.draft.create' },
    );
    return { id: data.id, messageId: data.message?.id ?? null, threadId: data.message?.threadId ?? null };
  }
}
