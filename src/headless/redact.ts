// Secrets must not reach output, events, journals or error messages. Two nets, because neither alone
// is enough:
//
// 1. URL credentials found by parsing, not by pattern: for every `scheme:` in a text, the authority
//    is found the way the WHATWG URL parser finds it (it ends at the first `/`, `?`, `#` or `\`; in
//    free text also at whitespace) and the credentials end at its LAST `@`. The password is redacted
//    (the username and host stay, they help debugging); a userinfo without `:` is probably a token
//    and is redacted whole. A pattern cannot do this: a password may hold `"`, `'`, `@` or `:`.
// 2. Known secrets, replaced wherever they appear: the values of secret-looking environment
//    variables, and the credentials of every URL the user handed in (command line, environment, the
//    resolved plan), in every form they may be printed in (as typed, percent-encoded as
//    `new URL().password` gives them, decoded, JSON-escaped). This net catches what parsing cannot:
//    a password holding `/`, `#`, `?` or a space ends the authority early, and an error message that
//    echoes such input would otherwise show the rest of it.

const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|CREDENTIAL|PRIVATE)/i;
const REDACTED = '***';
/** Shorter values are not replaced on their own (every "a" in the output would go); in a URL they still are. */
const MIN_SECRET_LENGTH = 4;

/** Schemes whose slashes WHATWG ignores (`http:\\h`, `http:h` and `http:///h` all name host h). */
const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file']);
const SCHEME = /[a-z][a-z0-9+.-]*:/gi;
const AUTHORITY_END = new Set(['/', '?', '#', '\\']);
const WHITESPACE = /\s/;

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return (
    Object.entries(env)
      .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= MIN_SECRET_LENGTH)
      .map(([, value]) => value as string)
      // longest first, so a secret that contains another is replaced whole
      .sort((a, b) => b.length - a.length)
  );
}

interface Authority {
  /** where the scheme starts */
  schemeStart: number;
  start: number;
  end: number;
}

/**
 * The authority of every URL in `text`, left to right, not overlapping. `freeText`: the authority
 * also ends at whitespace (a sentence goes on after a URL); otherwise the text is one value, such as
 * a command-line argument.
 */
function authorities(text: string, freeText: boolean): Authority[] {
  const found: Authority[] = [];
  const scheme = new RegExp(SCHEME.source, 'gi');
  for (let m = scheme.exec(text); m; m = scheme.exec(text)) {
    const name = m[0].slice(0, -1).toLowerCase();
    let start = m.index + m[0].length;
    if (SPECIAL_SCHEMES.has(name)) {
      while (text[start] === '/' || text[start] === '\\') start++;
    } else if (text.startsWith('//', start)) {
      start += 2;
    } else {
      continue;
    }
    let end = start;
    while (end < text.length && !AUTHORITY_END.has(text[end]) && !(freeText && WHITESPACE.test(text[end]))) end++;
    found.push({ schemeStart: m.index, start, end });
    // a `scheme:` inside this authority (a username such as "ftp") is not another URL
    scheme.lastIndex = Math.max(end, scheme.lastIndex);
  }
  return found;
}

/** The password (or a token userinfo) of every URL in a free text replaced by `***`; the rest kept. */
function redactUrlCredentials(text: string): string {
  if (!text.includes(':')) return text;
  let out = '';
  let from = 0;
  for (const a of authorities(text, true)) {
    const at = text.lastIndexOf('@', a.end - 1);
    if (at < a.start) continue;
    const colon = text.indexOf(':', a.start);
    // user:password@ keeps the user; a userinfo without ':' is probably a token: all of it goes
    const secretStart = colon >= 0 && colon < at ? colon + 1 : a.start;
    if (secretStart === at) continue; // "user:@host": nothing to hide
    out += text.slice(from, secretStart) + REDACTED;
    from = at;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** How a URL encodes `value` as a password or username (the WHATWG userinfo percent-encode set). */
function percentEncoded(value: string, part: 'password' | 'username'): string | undefined {
  try {
    const u = new URL('http://h/');
    u[part] = value;
    return u[part];
  } catch {
    return undefined;
  }
}

function percentDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Secrets known by value. One process-wide instance (processSecrets()) is filled from the
 * environment and the command line at first use, and from the run plan when it is resolved; tests
 * make their own.
 */
export class SecretRegistry {
  /** needle → what it is replaced with */
  private readonly entries = new Map<string, string>();
  private sorted: [string, string][] | null = null;

  private put(needle: string | undefined, replacement: string): void {
    if (!needle || needle === replacement || this.entries.has(needle)) return;
    this.entries.set(needle, replacement);
    this.sorted = null;
  }

  /**
   * A secret value, as is and JSON-escaped (a secret holding `"` or `\` inside a JSON text someone
   * printed). Values shorter than MIN_SECRET_LENGTH are skipped unless `anyLength` (the caller named it).
   */
  addSecret(value: string, anyLength = false): void {
    if (!value || (!anyLength && value.length < MIN_SECRET_LENGTH)) return;
    this.put(value, REDACTED);
    this.put(JSON.stringify(value).slice(1, -1), REDACTED);
  }

  /**
   * The credentials of every URL in `text`, a single value (an argument, an environment value, a
   * plan field), in every form they may be printed in: as the URL parser reads them, and leniently,
   * up to the last `@` of the whole value. The lenient reading is for a password holding `/`, `#`,
   * `?`, `\` or a space: the value then does not parse, or parses with the wrong password
   * (`http://u:a@b/c@host` is user u, password a, host b), and an error message echoing it must
   * still be redacted. A URL with `@` in its path is then over-redacted, never under.
   */
  addUrlCredentials(text: string): void {
    if (!text.includes(':') || !text.includes('@')) return;
    const last = text.lastIndexOf('@');
    for (const a of authorities(text, false)) {
      const at = text.lastIndexOf('@', a.end - 1);
      const typed = at >= a.start ? text.slice(a.start, at) : '';
      this.addUserinfo(typed);
      try {
        // what the parser made of it (percent-encoded), in case its reading differs from ours
        const u = new URL(text.slice(a.schemeStart));
        if (u.username || u.password) this.addUserinfo(typed.includes(':') || u.password ? `${u.username}:${u.password}` : u.username);
      } catch {
        // does not parse: the lenient reading below is all there is
      }
      if (last >= a.start && last !== at) this.addUserinfo(text.slice(a.start, last));
    }
  }

  private addUserinfo(userinfo: string): void {
    if (!userinfo) return;
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : '';
    const secret = colon >= 0 ? userinfo.slice(colon + 1) : userinfo;
    if (!secret) return;
    const part = colon >= 0 ? 'password' : 'username';
    const encoded = percentEncoded(secret, part);
    const forms = new Set([secret, encoded, percentDecoded(secret), encoded && percentDecoded(encoded)]);
    for (const form of forms) if (form) this.addSecret(form);
    // Too short to replace on its own, it is still replaced in its URL: "user:pw@" → "user:***@".
    const encodedUser = percentEncoded(user, 'username') ?? user;
    for (const form of new Set([secret, encoded])) {
      if (!form) continue;
      this.put(colon >= 0 ? `${user}:${form}@` : `${form}@`, colon >= 0 ? `${user}:${REDACTED}@` : `${REDACTED}@`);
      if (colon >= 0 && encodedUser !== user) this.put(`${encodedUser}:${form}@`, `${encodedUser}:${REDACTED}@`);
    }
  }

  /** Secret-looking variables' values, and the credentials of URLs in any variable. */
  addEnv(env: NodeJS.ProcessEnv): void {
    for (const value of secretValues(env)) this.addSecret(value);
    for (const value of Object.values(env)) if (value) this.addUrlCredentials(value);
  }

  addArgv(argv: readonly string[]): void {
    for (const arg of argv) this.addUrlCredentials(arg);
  }

  /** The credentials of URLs in every string of a value (a resolved run plan, say). */
  addFrom(value: unknown, seen = new Set<unknown>()): void {
    if (typeof value === 'string') {
      this.addUrlCredentials(value);
    } else if (value && typeof value === 'object' && !seen.has(value)) {
      seen.add(value);
      for (const v of Object.values(value)) this.addFrom(v, seen);
    }
  }

  /** Every known secret in `text` replaced, longest first (a secret holding another goes whole). */
  redact(text: string): string {
    this.sorted ??= [...this.entries].sort((a, b) => b[0].length - a[0].length);
    let out = text;
    for (const [needle, replacement] of this.sorted) if (out.includes(needle)) out = out.split(needle).join(replacement);
    return out;
  }
}

let processRegistry: SecretRegistry | null = null;

/** This process's known secrets: the environment and the command line, registered once. */
function processSecrets(): SecretRegistry {
  if (!processRegistry) {
    processRegistry = new SecretRegistry();
    processRegistry.addEnv(process.env);
    processRegistry.addArgv(process.argv);
  }
  return processRegistry;
}

/** Registers the credentials of every URL in `value` (the resolved run plan) with this process's redactor. */
export function registerSecretsIn(value: unknown): void {
  processSecrets().addFrom(value);
}

/**
 * The redactor. With no argument, this process's: the environment, the command line and what was
 * registered (a later registration counts too). With a list of secrets or a registry, those alone.
 * URL credentials are redacted by parsing either way.
 */
export function makeRedactor(secrets?: readonly string[] | SecretRegistry): (text: string) => string {
  let registry: SecretRegistry | undefined;
  if (secrets instanceof SecretRegistry) {
    registry = secrets;
  } else if (secrets) {
    registry = new SecretRegistry();
    for (const s of secrets) registry.addSecret(s, true);
  }
  return (text: string) => redactUrlCredentials((registry ?? processSecrets()).redact(text));
}

// DEL and C1: JSON.stringify escapes C0 but sends these raw, and some terminals obey C1 (8-bit CSI).
const JSON_UNSAFE = /[\u007f-\u009f]/g;

/**
 * JSON with every string redacted before it is encoded: after encoding, a secret holding `"`, `\`
 * or a control character is escaped and no longer matches. DEL and C1 are written as `\u00XX`, which
 * keeps the JSON valid and the terminal that shows it unsteered.
 */
export function redactedJson(value: unknown, redact: (text: string) => string, space?: number): string {
  const json: string | undefined = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v), space);
  // undefined in (a function, say), undefined out, as JSON.stringify does
  if (json === undefined) return json;
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
