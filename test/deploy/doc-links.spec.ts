import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * README.md is the front door and docs/*.md the reference: a relative link between them (a file, or a heading in
 * one) that does not resolve sends a reader nowhere, and moving a section breaks the links to it silently. Every
 * relative link and `#anchor` in these files must resolve, and the README must link to every docs/ file.
 */
const ROOT = join(import.meta.dirname, '../..');
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const FILES = ['README.md', ...DOCS];

/** Markdown outside fenced code blocks, with inline code spans blanked (a `](` there is not a link). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
  });
}

/** GitHub's heading anchor: text lower-cased, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The relative links of `file` (path from the repository root) that do not resolve, as "file:line: target". */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  prose(markdown).forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = path ? relative(ROOT, resolve(ROOT, dirname(file), decodeURIComponent(path))) : file;
      const text = read(resolved);
      const ok =
        text !== undefined &&
        (anchor === undefined || anchor === '' || (resolved.endsWith('.md') && anchorsOf(text).has(decodeURIComponent(anchor))));
      if (!ok) broken.push(`${file}:${i + 1}: ${target}`);
    }
  });
  return broken;
}

function readRepo(path: string): string | undefined {
  const full = join(ROOT, path);
  if (path.startsWith('..') || !existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

describe('links in README.md and docs/', () => {
  it('finds a broken file link and a broken anchor (the check itself works)', () => {
    const files: Record<string, string> = { 'docs/a.md': '# Title\n\n## Some section: (with) `code`\n\n## Twice\n\n## Twice\n' };
    const read = (p: string) => files[p];
    const doc = [
      '[ok](a.md) [ok](a.md#title) [ok](a.md#some-section-with-code) [ok](a.md#twice-1) [ok](#local) [web](https://example.com/x)',
      '# Local',
      '[no file](b.md) [no anchor](a.md#missing) [no local anchor](#nowhere)',
      '```sh',
      'echo "[not a link](nowhere.md)"',
      '```',
      '`[not a link either](nowhere.md)`',
    ].join('\n');
    expect(brokenLinks('docs/c.md', doc, (p) => (p === 'docs/c.md' ? doc : read(p)))).toEqual([
      'docs/c.md:3: b.md',
      'docs/c.md:3: a.md#missing',
      'docs/c.md:3: #nowhere',
    ]);
  });

  it('every relative link and anchor resolves', () => {
    expect(DOCS.length).toBeGreaterThanOrEqual(5);
    const broken = FILES.flatMap((f) => brokenLinks(f, readFileSync(join(ROOT, f), 'utf8'), readRepo));
    expect(broken).toEqual([]);
  });

  it('the README links to every file in docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const linked = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1]));
    expect(DOCS.filter((d) => !linked.has(d))).toEqual([]);
  });
});
