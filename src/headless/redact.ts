// Secrets come from the environment; they must not reach logs, events or journals. We redact the
// values of secret-looking variables and the password part of any URL.

const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|CREDENTIAL|PRIVATE)/i;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)([^\s@/"']+)(@)/gi;
export const REDACTED = '***';

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= 4)
    .map(([, value]) => value as string)
    // longest first, so a secret that contains another is replaced whole
    .sort((a, b) => b.length - a.length);
}

export function makeRedactor(secrets: readonly string[] = secretValues()): (text: string) => string {
  return (text: string) => {
    let out = text.replace(URL_PASSWORD, `$1${REDACTED}$3`);
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

/**
 * JSON with every string redacted before it is encoded: after encoding, a secret holding `"`, `\`
 * or a control character is escaped and no longer matches.
 */
export function redactedJson(value: unknown, redact: (text: string) => string, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v), space);
}
