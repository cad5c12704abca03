/** What the emulator needs of an RFC 2822 message: its headers (decoded), text and HTML bodies. */
export interface ParsedMail {
  headers: Array<{ name: string; value: string }>;
  text: string;
  html?: string;
}

/** RFC 2047 encoded-words (`=?UTF-8?B?...?=`, `=?UTF-8?Q?...?=`) to text. */
function decodeWords(value: string): string {
  // RFC 2047 6.2: whitespace between two adjacent encoded-words is not part of the text (a long subject is folded so).
  return value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?[^?]+\?[BbQq]\?)/g, '$1').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

function splitHead(source: string): { headers: Array<{ name: string; value: string }>; body: string } {
  const at = source.search(/\r?\n\r?\n/);
  const head = at === -1 ? source : source.slice(0, at);
  const body = at === -1 ? '' : source.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = head
    .split(/\r?\n(?![ \t])/)
    .filter(Boolean)
    .map((line) => {
      const i = line.indexOf(':');
      return { name: line.slice(0, i).trim(), value: decodeWords(line.slice(i + 1).replace(/\r?\n[ \t]+/g, ' ').trim()) };
    });
  return { headers, body };
}

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding?.toLowerCase() === 'quoted-printable') {
    return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return body;
}

/** Parses a message as Gmail's send endpoint receives it (base64url raw): single part or multipart, any depth. */
export function parseMail(raw: string): ParsedMail {
  const { headers, body } = splitHead(Buffer.from(raw, 'base64url').toString('utf8'));
  const out: ParsedMail = { headers, text: '' };
  const walk = (partHeaders: Array<{ name: string; value: string }>, partBody: string) => {
    const get = (n: string) => partHeaders.find((h) => h.name.toLowerCase() === n)?.value;
    const type = get('content-type') ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (/^multipart\//i.test(type) && boundary) {
      for (const chunk of partBody.split(`--${boundary}`).slice(1)) {
        if (chunk.startsWith('--')) break;
        const part = splitHead(chunk.replace(/^\r?\n/, ''));
        walk(part.headers, part.body.replace(/\r?\n$/, ''));
      }
      return;
    }
    const text = decodeBody(partBody, get('content-transfer-encoding'));
    if (/^text\/html/i.test(type)) out.html ??= text;
    else if (/^text\/plain/i.test(type) && !out.text) out.text = text;
  };
  walk(headers, body);
  return out;
}
