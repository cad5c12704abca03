import { randomBytes } from 'node:crypto';

export interface OutgoingMail {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Message-ID of the message this replies to: sets In-Reply-To and References so Gmail keeps the thread. */
  inReplyTo?: string;
}

/** RFC 5322's recommended line length; its hard limit is 998. */
const LINE = 78;
/**
 * UTF-8 bytes per encoded-word: `=?UTF-8?B?` + 52 base64 characters + `?=` is 64 (RFC 2047 allows 75), so even the
 * first line, `Subject: ` and a word, stays within LINE.
 */
const WORD_BYTES = 39;

/**
 * A header line, folded so no line passes RFC 5322's limits: plain ASCII that fits stays as it is; anything else
 * becomes RFC 2047 encoded-words of whole characters, one per folded line (a decoder drops the folding between
 * adjacent encoded-words, so the text comes back exactly).
 */
function encodedHeader(name: string, value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && name.length + 2 + value.length <= LINE) return `${name}: ${value}`;
  const words: string[] = [];
  let chunk = '';
  for (const char of value) {
    if (Buffer.byteLength(chunk + char, 'utf8') > WORD_BYTES) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  words.push(chunk);
  return `${name}: ${words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ')}`;
}

/** An address header, folded after each comma when one line would be too long (100 recipients of 254 characters). */
function addressHeader(name: string, addresses: string[]): string {
  const line = `${name}: ${addresses.join(', ')}`;
  return line.length <= LINE ? line : `${name}: ${addresses.join(',\r\n ')}`;
}

/**
 * Builds an RFC 2822 message, base64url-encoded as Gmail's `raw` expects. Hand-written because the message is
 * small and fixed in shape (text and/or HTML alternatives), and a mail library would add a dependency tree for it.
 * Header values come validated (no CR/LF) from the request schema.
 */
export function buildRawMessage(mail: OutgoingMail): string {
  const headers = [
    `From: ${mail.from}`,
    addressHeader('To', mail.to),
    ...(mail.cc?.length ? [addressHeader('Cc', mail.cc)] : []),
    ...(mail.bcc?.length ? [addressHeader('Bcc', mail.bcc)] : []),
    encodedHeader('Subject', mail.subject),
    ...(mail.inReplyTo ? [`In-Reply-To: ${mail.inReplyTo}`, `References: ${mail.inReplyTo}`] : []),
    'MIME-Version: 1.0',
  ];
  const part = (type: string, body: string) => [`Content-Type: ${type}; charset="UTF-8"`, 'Content-Transfer-Encoding: base64', '', Buffer.from(body, 'utf8').toString('base64')].join('\r\n');
  let body: string;
  if (mail.text !== undefined && mail.html !== undefined) {
    const boundary = `b_${randomBytes(12).toString('hex')}`;
    headers.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
    body = ['', `--${boundary}`, part('text/plain', mail.text), `--${boundary}`, part('text/html', mail.html), `--${boundary}--`, ''].join('\r\n');
  } else {
    const [type, content] = mail.html !== undefined ? ['text/html', mail.html] : ['text/plain', mail.text ?? ''];
    return Buffer.from([...headers, part(type, content)].join('\r\n'), 'utf8').toString('base64url');
  }
  return Buffer.from([...headers, body].join('\r\n'), 'utf8').toString('base64url');
}

interface Part {
  mimeType?: string | null;
  filename?: string | null;
  headers?: Array<{ name?: string | null; value?: string | null }> | null;
  body?: { data?: string | null; attachmentId?: string | null; size?: number | null } | null;
  parts?: Part[] | null;
}

/** A Gmail message resource made readable: headers by name, text and HTML bodies decoded, attachments listed. */
export function decodeMessage(m: { id?: string | null; threadId?: string | null; labelIds?: string[] | null; snippet?: string | null; internalDate?: string | null; payload?: Part | null }) {
  const header = (name: string) => m.payload?.headers?.find((h) => h.name?.toLowerCase() === name)?.value ?? null;
  let text: string | null = null;
  let html: string | null = null;
  const attachments: Array<{ attachmentId: string; filename: string; mimeType: string; size: number }> = [];
  const walk = (p: Part) => {
    if (p.filename && p.body?.attachmentId) {
      attachments.push({ attachmentId: p.body.attachmentId, filename: p.filename, mimeType: p.mimeType ?? 'application/octet-stream', size: p.body.size ?? 0 });
    } else if (p.mimeType === 'text/plain' && p.body?.data && text === null) {
      text = Buffer.from(p.body.data, 'base64url').toString('utf8');
    } else if (p.mimeType === 'text/html' && p.body?.data && html === null) {
      html = Buffer.from(p.body.data, 'base64url').toString('utf8');
    }
    p.parts?.forEach(walk);
  };
  if (m.payload) walk(m.payload);
  return {
    id: m.id,
    threadId: m.threadId,
    labelIds: m.labelIds ?? [],
    snippet: m.snippet ?? '',
    internalDate: m.internalDate ?? null,
    headers: {
      from: header('from'),
      to: header('to'),
      cc: header('cc'),
      subject: header('subject'),
      date: header('date'),
      messageId: header('message-id'),
      // What a reply needs to stay in the thread.
      inReplyTo: header('in-reply-to'),
      references: header('references'),
    },
    // Assigned in the walk's closure, which TypeScript's narrowing does not see: without the casts both read as null.
    text: text as string | null,
    html: html as string | null,
    attachments,
  };
}
