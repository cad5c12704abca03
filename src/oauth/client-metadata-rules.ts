/**
 * Rules for the client metadata a person is shown on the consent page (the client's name and its own site), shared by
 * dynamic registration and Client ID Metadata Documents so both accept exactly the same values.
 */

/**
 * Characters a displayed string may not hold: controls (C0, DEL, C1), format characters (bidi overrides and isolates,
 * zero-width spaces and joiners, soft hyphen), lone surrogates, line and paragraph separators, and the Hangul fillers
 * that render as blank letters. Each can make a name read differently from what it is, or hide part of it.
 */
const HIDDEN_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/u;

/** A stored string as the page may show it: hidden, control and text-direction characters become a visible U+FFFD. */
export function visibleText(value: string): string {
  // Names stored before these rules (and operators' static clients) were never checked this way.
  return value.replace(new RegExp(HIDDEN_OR_CONTROL.source, 'gu'), '\ufffd');
}

/** Why a string shown to people (a client name, a client URI) may not be used, or undefined when it may. */
export function displayedStringProblem(value: string): string | undefined {
  if (value.trim().length === 0) return 'is empty';
  const bad = HIDDEN_OR_CONTROL.exec(value)?.[0];
  if (bad) return `contains a control, invisible or text-direction character (U+${bad.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')})`;
  return undefined;
}

/**
 * Why a client_uri may not be used, or undefined when it may: it must parse as a URL (the consent page compares its host
 * with the redirect URI's), use https, name a host, and carry no userinfo (`https://trusted.example@evil.example`).
 */
export function clientUriProblem(value: string): string | undefined {
  const shown = displayedStringProblem(value);
  if (shown) return shown;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'https:') return 'must use https';
  if (!u.hostname) return 'has no host';
  // The raw authority is checked too: the URL parser drops an empty userinfo ("https://@host").
  if (u.username || u.password || /^https:\/\/[^/?#]*@/i.test(value)) return 'must not contain userinfo (user@host)';
  return undefined;
}

/** The host of a client_uri as the consent page shows it, or undefined when it has none we can trust. */
export function clientUriHost(value: string | undefined): string | undefined {
  // Clients stored before clientUriProblem existed may hold any string: the page must still render for them.
  if (value === undefined || clientUriProblem(value)) return undefined;
  return new URL(value).hostname;
}
