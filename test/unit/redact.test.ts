// Secrets from the environment never reach output, events or journals.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter } from '../../src/headless/journal.ts';
import { makeRedactor, redactedJson, registerSecretsIn, SecretRegistry, secretValues } from '../../src/headless/redact.ts';
import { tempDir } from '../helpers/cli.ts';

describe('redaction', () => {
  it('takes the values of secret-looking variables only', () => {
    const secrets = secretValues({ API_TOKEN: 's3cr3t-token', DB_PASSWORD: 'hunter22', HOME: '/root', SHORT_SECRET: 'abc' });
    expect(secrets.sort()).toEqual(['hunter22', 's3cr3t-token']);
  });

  it('redacts those values and URL passwords anywhere in a text', () => {
    const redact = makeRedactor(['s3cr3t-token']);
    expect(redact('Authorization: Bearer s3cr3t-token')).toBe('Authorization: Bearer ***');
    expect(redact('upstream http://admin:pa55word@127.0.0.1:9090/x')).toBe('upstream http://admin:***@127.0.0.1:9090/x');
    expect(redact('nothing to see')).toBe('nothing to see');
  });

  it('redacts a secret holding quotes, backslashes or control characters in JSON too (before encoding)', () => {
    const secret = 's3cr"et\\x\t1';
    const redact = makeRedactor([secret]);
    const line = redactedJson({ type: 'note', text: `token ${secret} used`, nested: [{ argv: ['curl', secret] }] }, redact);
    expect(line).not.toContain('s3cr');
    expect(JSON.parse(line)).toEqual({ type: 'note', text: 'token *** used', nested: [{ argv: ['curl', '***'] }] });
  });

  it('keeps them out of the journal, which is written 0600', () => {
    const dir = tempDir();
    const path = join(dir, 'j.json');
    const journal = JournalWriter.open(
      path,
      { experimentId: 'x', name: 'n', startedAt: 'now', plan: { rollback: [{ run: ['curl', '-H', 'token: s3cr3t-token'] }] } },
      makeRedactor(['s3cr3t-token']),
    );
    journal.record({ type: 'note', ts: 1, text: 'used s3cr3t-token', source: 'user' });
    journal.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('s3cr3t-token');
    expect(text).toContain('***');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual([undefined, 'note']); // the header, then the event
  });
});

// A URL's password is found by parsing its authority (WHATWG: it ends at the first / ? # \, the
// credentials at its last @), not by a pattern that stops at the first quote or @.
describe('URL passwords, by parsing', () => {
  const redact = makeRedactor([]);
  const cases: [string, string][] = [
    ['double quote', 'p"ss'],
    ['single quote', "it's"],
    ['@', 'p@ss@word'],
    [':', 'a:b:c'],
    ['%', 'p%22a%zz'],
    ['unicode', 'pässwörd☃'],
    ['`$<>{}|^~!&*()=+,;[]', '`$<>{}|^~!&*()=+,;[]'],
  ];
  for (const [what, pw] of cases) {
    it(`holding ${what}`, () => {
      const text = `probe http://user:${pw}@127.0.0.1:8080/healthz failed`;
      expect(redact(text)).toBe('probe http://user:***@127.0.0.1:8080/healthz failed');
      // quoted, as error messages echo input
      expect(redact(`got "http://user:${pw}@127.0.0.1:99999"`)).toBe('got "http://user:***@127.0.0.1:99999"');
    });
  }

  it('keeps the username and host; a userinfo without ":" is a token and goes whole', () => {
    expect(redact('https://ghp_0123456789abcdef@github.com/x')).toBe('https://***@github.com/x');
    expect(redact('postgres://app:pw@db:5432/x?sslmode=require')).toBe('postgres://app:***@db:5432/x?sslmode=require');
    expect(redact('redis://:pw@cache:6379')).toBe('redis://:***@cache:6379');
    expect(redact('two: http://a:1@h1 and http://b:2@h2.')).toBe('two: http://a:***@h1 and http://b:***@h2.');
    // WHATWG reads backslashes and missing slashes in special schemes as slashes
    expect(redact('http:\\\\u:pw@h')).toBe('http:\\\\u:***@h');
  });

  it('leaves text without credentials alone', () => {
    for (const text of [
      '12:00:00.000 observe',
      'http://user:@h/ (empty password)',
      'see https://medium.com/@user/post',
      'http://127.0.0.1:8080/a@b',
      'mailto:a@b.c',
      'C:\\x@y',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });
});

// A password holding / # ? \ or a space ends the authority early: parsing alone cannot find it. The
// credentials of every URL the user handed in are known by value, in every printed form.
describe('known secrets: the credentials of URLs handed in', () => {
  const nasty: [string, string][] = [
    ['/', 'ab/cd'],
    ['#', 'ab#cd'],
    ['?', 'ab?cd'],
    ['backslash', 'ab\\cd'],
    ['space', 'ab cd'],
    ['@ and /', 'a@b/c@d'],
    ['quote and #', 'p"a#ss'],
  ];
  for (const [what, pw] of nasty) {
    it(`a password holding ${what}, from the command line`, () => {
      const reg = new SecretRegistry();
      const url = `http://user:${pw}@127.0.0.1:99999`;
      reg.addArgv(['node', 'gameday', 'run', '--target', url]);
      const redact = makeRedactor(reg);
      const echoed = redact(`--target: expected an http:// or https:// URL, got "${url}"`);
      expect(echoed).toBe('--target: expected an http:// or https:// URL, got "http://user:***@127.0.0.1:99999"');
      // alone, percent-encoded (what new URL().password gives) and inside JSON
      const encoded = encodeURIComponent(pw);
      expect(redact(`pw=${pw} enc=${encoded}`)).toBe('pw=*** enc=***');
      expect(redact(JSON.stringify({ pw }))).not.toContain(JSON.stringify(pw).slice(1, -1));
    });
  }

  it('--target=URL, a URL in the environment, and the plan', () => {
    const reg = new SecretRegistry();
    reg.addArgv(['--target=http://u:argv/pw1@h']);
    reg.addEnv({ DATABASE_URL: 'postgres://app:env pw2@db/x', HOME: '/root' });
    reg.addFrom({ fault: { proxy: { upstream: 'http://svc:plan#pw3@10.0.0.1' } }, rollback: [{ run: ['curl', 'https://tok/en4@api'] }] });
    const redact = makeRedactor(reg);
    expect(redact('argv/pw1 env pw2 plan#pw3 tok/en4')).toBe('*** *** *** ***');
  });

  it('percent-encoded as typed, and decoded', () => {
    const reg = new SecretRegistry();
    reg.addArgv(['http://user:p%40ss%2Fw0rd@h']);
    const redact = makeRedactor(reg);
    expect(redact('decoded p@ss/w0rd, typed p%40ss%2Fw0rd')).toBe('decoded ***, typed ***');
  });

  it('a short password is still redacted in its URL, but not on its own', () => {
    const reg = new SecretRegistry();
    reg.addArgv(['http://u:a/b@h:1']);
    const redact = makeRedactor(reg);
    expect(redact('got "http://u:a/b@h:1"')).toBe('got "http://u:***@h:1"');
    expect(redact('a/b testing')).toBe('a/b testing');
  });

  it("this process's redactor counts what is registered later", () => {
    const redact = makeRedactor();
    expect(redact('late/pw9')).toBe('late/pw9');
    registerSecretsIn({ targetUrl: 'http://user:late/pw9@h' });
    expect(redact('late/pw9')).toBe('***');
  });
});

describe('tokens and JSON', () => {
  it('a token inside a longer word', () => {
    const redact = makeRedactor(secretValues({ MY_API_TOKEN: 'tok3n-value' }));
    expect(redact('Bearer xxtok3n-valueyy;tok3n-value.')).toBe('Bearer xx***yy;***.');
  });

  it('redactedJson escapes DEL and C1 controls, and stays valid JSON', () => {
    const value = { name: 'a\u009b2Jb\u007fc\u0085d', note: 'esc \u001b[31m red' };
    const line = redactedJson(value, (t) => t);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(line).toContain('\\u009b');
    expect(JSON.parse(line)).toEqual(value);
  });

  it('a password with quotes is not in JSON output, raw or escaped', () => {
    const pw = 'p"a\'ss"w';
    const line = redactedJson({ detail: `http://user:${pw}@h/healthz answered` }, makeRedactor([]));
    expect(line).not.toContain(JSON.stringify(pw).slice(1, -1));
    expect(JSON.parse(line).detail).toBe('http://user:***@h/healthz answered');
  });
});
