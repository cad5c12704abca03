import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { answersTooLarge } from '../google-api.errors.js';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { BatchQuery, LabelChangeBody, OutgoingMailBody } from './gmail.schemas.js';
import { buildRawMessage, decodeMessage } from './mime.js';

const BATCH_CONCURRENCY = 5;

/** Gmail as the signed-in user. */
@Injectable()
export class GmailService {
  /** The most message text one batch holds at once (GOOGLE_MAX_ANSWER_BYTES: the batch is read as one answer would be). */
  private readonly batchTextLimit: number;
  /** Calls one batch runs at once: BATCH_CONCURRENCY, or fewer when WORKSPACE_CALLS_PER_USER allows fewer (a batch must not refuse itself). */
  private readonly batchConcurrency: number;

  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
    config: AppConfig,
  ) {
    this.batchTextLimit = config.values.google.maxAnswerBytes;
    this.batchConcurrency = Math.min(BATCH_CONCURRENCY, config.values.workspace.callsPerUser);
  }

  /** One message: headers, decoded text and HTML bodies, attachments listed. */
  async getMessage(email: string, id: string) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (u) => (await this.apis.gmail(u).users.messages.get({ userId: 'me', id, format: 'full' })).data);
    return decodeMessage(data);
  }

  /**
   * Several messages at once; ids Google does not know are listed in `notFound`. At most BATCH_CONCURRENCY calls
   * run at a time: Gmail limits concurrent requests per user, and a 50-id batch must not trip it by itself.
   * Each message is bounded by GOOGLE_MAX_ANSWER_BYTES, and so are the bodies the batch holds together: 50 messages
   * each just within the limit would otherwise hold 50 times it in one request, more than a replica's heap, for every
   * user of the replica to lose. Past it the batch fails with the 502 that says to ask for fewer ids.
   */
  async getMessages(email: string, query: BatchQuery) {
    const found = new Map<string, ReturnType<typeof decodeMessage>>();
    const queue = [...query.ids];
    let held = 0;
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          const message = await this.getMessage(email, id);
          // A string holds at least a byte per character: the decoded bodies are what the batch keeps of a message.
          held += (message.text?.length ?? 0) + (message.html?.length ?? 0);
          if (held > this.batchTextLimit) throw answersTooLarge('Gmail', this.batchTextLimit, 'ids');
          found.set(id, message);
        } catch (err) {
          if (!(err instanceof DomainError && err.status === 404)) {
            queue.length = 0; // the batch has failed: the other workers stop taking ids
            throw err;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.batchConcurrency, query.ids.length) }, worker));
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
