import type { DriveFile } from './drive-store.js';

type Filter = (f: DriveFile) => boolean;

/** A token of Drive's query language: a string literal (unescaped), a bracket, or a word (field, operator, keyword). */
type Token = { kind: 'string'; value: string } | { kind: 'bracket'; value: string } | { kind: 'word'; value: string };

/**
 * Drive's `q` as tokens: string literals in single quotes with `\` escaping the next character, brackets `(){}`,
 * comparison operators, and words. Undefined for an unterminated literal (Drive answers 400).
 */
function tokens(q: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let value = '';
      for (i++; q[i] !== "'"; i++) {
        if (i >= q.length) return undefined;
        if (q[i] === '\\') i++;
        if (i >= q.length) return undefined;
        value += q[i];
      }
      i++;
      out.push({ kind: 'string', value });
    } else if ('(){}'.includes(c)) {
      out.push({ kind: 'bracket', value: c });
      i++;
    } else {
      const word = /^(!=|<=|>=|=|<|>|[^\s'(){}=!<>]+)/.exec(q.slice(i))?.[0];
      if (!word) return undefined;
      out.push({ kind: 'word', value: word });
      i += word.length;
    }
  }
  return out;
}

/** The comparisons of a field with a string literal that the emulator understands. */
const STRING_TERMS: Record<string, Record<string, (v: string) => Filter>> = {
  name: {
    contains: (v) => (f) => f.name.toLowerCase().includes(v.toLowerCase()),
    '=': (v) => (f) => f.name === v,
    '!=': (v) => (f) => f.name !== v,
  },
  mimeType: { '=': (v) => (f) => f.mimeType === v, '!=': (v) => (f) => f.mimeType !== v },
  fullText: { contains: (v) => (f) => [f.name, ...(f.paragraphs ?? [])].join(' ').toLowerCase().includes(v.toLowerCase()) },
};

/**
 * A recursive-descent reading of the query: `or` of `and`s of (`not`) terms or parenthesised queries, as Drive's
 * query language has them. Each parse method answers a filter, or undefined when the query does not parse.
 */
class QueryParser {
  private at = 0;

  constructor(private readonly list: Token[]) {}

  parse(): Filter | undefined {
    const filter = this.or();
    return filter && this.at === this.list.length ? filter : undefined;
  }

  private peek(): Token | undefined {
    return this.list[this.at];
  }

  /** Takes the next token when it is `value` (keywords without regard to case, as Drive reads them). */
  private take(kind: Token['kind'], value?: string): Token | undefined {
    const t = this.peek();
    if (!t || t.kind !== kind || (value !== undefined && t.value.toLowerCase() !== value.toLowerCase())) return undefined;
    this.at++;
    return t;
  }

  private or(): Filter | undefined {
    let left = this.and();
    while (left && this.take('word', 'or')) {
      const [a, b] = [left, this.and()];
      left = b && ((f) => a(f) || b(f));
    }
    return left;
  }

  private and(): Filter | undefined {
    let left = this.unary();
    while (left && this.take('word', 'and')) {
      const [a, b] = [left, this.unary()];
      left = b && ((f) => a(f) && b(f));
    }
    return left;
  }

  private unary(): Filter | undefined {
    if (this.take('word', 'not')) {
      const inner = this.unary();
      return inner && ((f) => !inner(f));
    }
    if (this.take('bracket', '(')) {
      const inner = this.or();
      return inner && this.take('bracket', ')') ? inner : undefined;
    }
    return this.term();
  }

  private term(): Filter | undefined {
    const first = this.peek();
    if (first?.kind === 'string') {
      this.at++;
      return this.take('word', 'in') && this.take('word', 'parents') ? (f) => f.parents.includes(first.value) : undefined;
    }
    const field = this.take('word')?.value;
    if (field === 'appProperties') return this.appProperty();
    if (field === 'trashed') {
      const value = this.take('word', '=') && this.take('word')?.value;
      // Nothing is ever trashed in the emulator.
      return value === 'true' || value === 'false' ? () => value === 'false' : undefined;
    }
    const op = this.take('word')?.value;
    const literal = this.take('string')?.value;
    const make = field && op ? STRING_TERMS[field]?.[op] : undefined;
    return make && literal !== undefined ? make(literal) : undefined;
  }

  /** `appProperties has { key='k' and value='v' }`: the file carries that private property (Drive needs both parts). */
  private appProperty(): Filter | undefined {
    const ok = this.take('word', 'has') && this.take('bracket', '{') && this.take('word', 'key') && this.take('word', '=');
    const key = ok ? this.take('string')?.value : undefined;
    const rest = key !== undefined && this.take('word', 'and') && this.take('word', 'value') && this.take('word', '=');
    const value = rest ? this.take('string')?.value : undefined;
    if (value === undefined || !this.take('bracket', '}')) return undefined;
    return (f) => f.appProperties?.[key as string] === value;
  }
}

/**
 * A filter for a Drive search query: the terms above combined with `and`, `or`, `not` and parentheses. Undefined
 * when the query does not parse, which Drive answers with 400 (the service must not pass a caller's malformed query
 * off as an empty result).
 */
export function driveQuery(q: string): Filter | undefined {
  if (!q.trim()) return () => true;
  const list = tokens(q);
  return list && new QueryParser(list).parse();
}
