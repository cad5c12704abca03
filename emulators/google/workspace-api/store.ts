import { randomBytes } from 'node:crypto';
import { calendarEvents, gmailMessages } from '../workspace-data.js';

export interface StoredMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  headers: Array<{ name: string; value: string }>;
  text: string;
  html?: string;
  attachments: Array<{ attachmentId: string; filename: string; mimeType: string; data: Buffer }>;
  internalDate: string;
}

export interface StoredTask {
  id: string;
  title: string;
  notes?: string;
  due?: string;
  status: 'needsAction' | 'completed';
  completed?: string;
  updated: string;
}

type CalendarEvent = ReturnType<typeof calendarEvents>[number] & Record<string, unknown>;

/** Each user's mutable Workspace content, seeded from workspace-data.ts the first time the user is seen. */
export class WorkspaceStore {
  private readonly mailboxes = new Map<string, Map<string, StoredMessage>>();
  private readonly drafts = new Map<string, Map<string, string>>();
  private readonly events = new Map<string, Map<string, CalendarEvent>>();
  private readonly taskLists = new Map<string, Map<string, { id: string; title: string; tasks: Map<string, StoredTask> }>>();

  /** Every user's content, for persistence.ts. */
  snapshot() {
    return { mailboxes: this.mailboxes, drafts: this.drafts, events: this.events, taskLists: this.taskLists };
  }

  /** Takes back a snapshot() read from disk. */
  restore(saved: Partial<ReturnType<WorkspaceStore['snapshot']>>): void {
    const into = <K, V>(target: Map<K, V>, source: Map<K, V> | undefined) => source?.forEach((v, k) => target.set(k, v));
    into(this.mailboxes, saved.mailboxes);
    into(this.drafts, saved.drafts);
    into(this.events, saved.events);
    into(this.taskLists, saved.taskLists);
  }

  /** A new id in Google's alphabet. */
  static newId(): string {
    return randomBytes(8).toString('hex');
  }

  /** The user's messages, seeded with a text+html message per listed id (the first one with an attachment). */
  mailbox(email: string): Map<string, StoredMessage> {
    let box = this.mailboxes.get(email);
    if (!box) {
      box = new Map();
      gmailMessages(email).forEach(({ id, threadId }, i) => {
        (box as Map<string, StoredMessage>).set(id, {
          id,
          threadId,
          labelIds: ['INBOX', ...(i % 2 ? [] : ['UNREAD'])],
          headers: [
            { name: 'From', value: 'Sender <sender@example.com>' },
            { name: 'To', value: email },
            { name: 'Subject', value: `Message ${i} for ${email}` },
            { name: 'Date', value: new Date(Date.UTC(2026, 0, 1 + i)).toUTCString() },
            { name: 'Message-ID', value: `<${id}@mail.example.com>` },
          ],
          text: `Hello ${email}, this is message ${i}.`,
          html: `<p>Hello <b>${email}</b>, this is message ${i}.</p>`,
          attachments: i === 0 ? [{ attachmentId: `att-${id}`, filename: 'report.txt', mimeType: 'text/plain', data: Buffer.from(`report for ${email}`) }] : [],
          internalDate: String(Date.UTC(2026, 0, 1 + i)),
        });
      });
      this.mailboxes.set(email, box);
    }
    return box;
  }

  /** The user's drafts (id -> raw RFC 2822). */
  draftsOf(email: string): Map<string, string> {
    let d = this.drafts.get(email);
    if (!d) this.drafts.set(email, (d = new Map()));
    return d;
  }

  /** The user's primary calendar events, seeded from workspace-data.ts. */
  calendar(email: string): Map<string, CalendarEvent> {
    let cal = this.events.get(email);
    if (!cal) {
      cal = new Map(calendarEvents(email).map((e) => [e.id, { ...e } as CalendarEvent]));
      this.events.set(email, cal);
    }
    return cal;
  }

  /** The user's task lists, seeded with "My Tasks" holding one task. */
  tasks(email: string) {
    let lists = this.taskLists.get(email);
    if (!lists) {
      const now = new Date().toISOString();
      const first: StoredTask = { id: WorkspaceStore.newId(), title: `First task of ${email}`, status: 'needsAction', updated: now };
      lists = new Map([['default', { id: 'default', title: 'My Tasks', tasks: new Map([[first.id, first]]) }]]);
      this.taskLists.set(email, lists);
    }
    return lists;
  }
}
