// Secrets from the environment never reach output, events or journals.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter } from '../../src/headless/journal.ts';
import { makeRedactor, redactedJson, secretValues } from '../../src/headless/redact.ts';
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
    const journal = JournalWriter.open(path, { experimentId: 'x', name: 'n', startedAt: 'now', plan: { rollback: [{ run: ['curl', '-H', 'token: s3cr3t-token'] }] } }, makeRedactor(['s3cr3t-token']));
    journal.record({ type: 'note', ts: 1, text: 'used s3cr3t-token', source: 'user' });
    journal.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('s3cr3t-token');
    expect(text).toContain('***');
    expect(text.trim().split('\n').map((l) => JSON.parse(l).type)).toEqual([undefined, 'note']); // the header, then the event
  });
});
