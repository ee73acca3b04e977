// config/schema.json and config/config-file.schema.json are what editors check gameday's YAML
// against: they must say what the zod schemas say (regenerated here and compared byte for byte),
// and a real JSON Schema validator (ajv, draft 7 as the YAML language server reads it) must accept
// the shipped files and refuse what gameday refuses.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SCHEMA_FILES, firstDifference, jsonSchemaText, staleFiles } from '../../scripts/gen-schema.ts';
import { ConfigFileSchema, ConfigSchema, ExperimentSchema } from '../../src/config/schema.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const EXPERIMENTS = readdirSync(join(ROOT, 'config', 'experiments'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(ROOT, 'config', 'experiments', f));
/** A JSON Schema node, as far as these tests walk it. */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  items?: SchemaNode;
  description?: string;
  [key: string]: unknown;
}
/** A parsed YAML document the tests spoil one field of. */
type Doc = Record<string, unknown>;

const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const readYaml = (path: string) => parseYaml(readFileSync(path, 'utf8'));

function validator(path: string) {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(readJson(path));
  return (data: unknown) => ({ ok: validate(data) as boolean, errors: ajv.errorsText(validate.errors) });
}

/** The schema a YAML file's modeline names, resolved as the YAML language server does: from the file's directory. */
function modelineSchema(file: string): string {
  const first = readFileSync(file, 'utf8').split('\n')[0];
  const ref = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
  if (!ref) throw new Error(`${file}: no modeline on the first line: ${first}`);
  return resolve(dirname(file), ref);
}

describe('the JSON Schemas in config/', () => {
  it('are what src/config/schema.ts gives now, byte for byte', () => {
    // on failure: npm run schema, and commit config/*.json
    expect(staleFiles(ROOT)).toEqual([]);
  });

  it('the drift check is not vacuous: a changed zod schema is reported, with where and how to regenerate', () => {
    const changed = {
      'config/schema.json': { schema: ExperimentSchema.extend({ owner: z.string() }), title: SCHEMA_FILES['config/schema.json'].title },
    };
    const problems = staleFiles(ROOT, changed);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^config\/schema\.json: out of date .*first difference at properties\.owner.*npm run schema/);
    // a description is part of the contract too (it is what an editor shows)
    const redescribed = {
      'config/schema.json': { schema: ExperimentSchema.describe('other'), title: changed['config/schema.json'].title },
    };
    expect(staleFiles(ROOT, redescribed)[0]).toMatch(/first difference at description/);
    expect(staleFiles('/nonexistent', SCHEMA_FILES)[0]).toMatch(/missing; run `npm run schema`/);
  });

  it('firstDifference names the first differing path, null when equal', () => {
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeNull();
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe('a.1.b');
    expect(firstDifference({ a: 1 }, { a: 1, c: 2 })).toBe('c');
    expect(firstDifference([1], { 0: 1 })).toBe('(top level)');
  });

  it('are draft 7 with a description on every field an editor can show', () => {
    for (const path of Object.keys(SCHEMA_FILES)) {
      const schema = readJson(path);
      expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
      const undescribed: string[] = [];
      const walk = (node: SchemaNode | undefined, at: string): void => {
        if (!node || typeof node !== 'object') return;
        for (const [key, sub] of Object.entries(node.properties ?? {})) {
          if (!sub.description) undescribed.push(`${at}.${key}`);
          walk(sub, `${at}.${key}`);
        }
        for (const list of [node.anyOf, node.oneOf]) for (const [i, sub] of (list ?? []).entries()) walk(sub, `${at}[${i}]`);
        walk(node.items, `${at}[]`);
      };
      walk(schema, '');
      expect(undescribed, path).toEqual([]);
      // zod's own formats ("starts_with") are not draft 7's: removed, the pattern says it
      expect(JSON.stringify(schema)).not.toMatch(/"format":"(?!uri")/);
    }
  });

  it('every default in them is valid where it stands (durations written "30s")', () => {
    const ajv = new Ajv();
    const defaults: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (!node || typeof node !== 'object') return;
      if (!Array.isArray(node) && 'default' in node) {
        const { default: value, ...rest } = node as SchemaNode;
        defaults.push(at);
        expect(ajv.validate(rest, value), `${at}: ${JSON.stringify(value)} ${ajv.errorsText()}`).toBe(true);
      }
      for (const [k, sub] of Object.entries(node)) if (k !== 'default') walk(sub, `${at}.${k}`);
    };
    walk(readJson('config/schema.json'), '');
    expect(defaults.length).toBeGreaterThan(20);
    expect(readJson('config/schema.json').properties.schedule.properties.duration.default).toBe('1m');
  });
});

describe('the shipped YAML files against the schemas their first line names', () => {
  const experiment = validator('config/schema.json');
  const configFile = validator('config/config-file.schema.json');

  it('each experiment template names config/schema.json, passes it, and parses with zod', () => {
    expect(EXPERIMENTS.length).toBeGreaterThanOrEqual(6);
    for (const file of EXPERIMENTS) {
      expect(modelineSchema(file), file).toBe(join(ROOT, 'config', 'schema.json'));
      const data = readYaml(file);
      const r = experiment(data);
      expect(r.ok, `${file}: ${r.errors}`).toBe(true);
      expect(ExperimentSchema.safeParse(data).success, file).toBe(true);
    }
  });

  it('config/default.yaml names config/config-file.schema.json and passes it (and zod, whole)', () => {
    const file = join(ROOT, 'config', 'default.yaml');
    expect(modelineSchema(file)).toBe(join(ROOT, 'config', 'config-file.schema.json'));
    const data = readYaml(file);
    const r = configFile(data);
    expect(r.ok, r.errors).toBe(true);
    expect(ConfigSchema.safeParse(data).success).toBe(true);
    expect(ConfigFileSchema.safeParse(data).success).toBe(true);
  });

  const latency = () => readYaml(join(ROOT, 'config', 'experiments', 'latency.yaml'));
  const bad: [string, (doc: Doc & { fault?: Doc; schedule: Doc; traffic: Doc }) => void][] = [
    ['a misspelt key', (doc) => (doc.fault!.latencyy = '1s')],
    ['an unknown fault type', (doc) => (doc.fault = { type: 'earthquake' })],
    ['no fault', (doc) => delete doc.fault],
    ['a duration in words', (doc) => (doc.schedule.duration = '30 seconds')],
    ['rps over 100000', (doc) => (doc.traffic.rps = 100_001)],
    ['a method gameday does not send', (doc) => (doc.traffic.method = 'PATCH')],
    ['a probability over 1', (doc) => (doc.fault!.probability = 1.5)],
    ['a target that is not http(s)', (doc) => (doc.target = { url: 'ftp://example.com/' })],
    ['a number where a name goes', (doc) => (doc.name = 42)],
    ['a rollback step of no known type', (doc) => (doc.rollback = [{ type: 'reboot' }])],
  ];
  for (const [what, spoil] of bad) {
    it(`refuses what gameday refuses: ${what}`, () => {
      const doc = latency();
      spoil(doc);
      expect(experiment(doc).ok).toBe(false);
      expect(ExperimentSchema.safeParse(doc).success).toBe(false);
    });
  }

  it('refuses a config file with a misspelt key or a bad duration', () => {
    expect(configFile({ budget: { dailyCap: 5 } }).ok).toBe(false);
    expect(configFile({ health: { interval: 'often' } }).ok).toBe(false);
    expect(configFile({ health: { interval: '500ms' } }).ok).toBe(true);
  });

  it('the texts are generated from the schemas they say (a sanity check of the generator itself)', () => {
    expect(jsonSchemaText(ExperimentSchema, SCHEMA_FILES['config/schema.json'].title)).toBe(
      readFileSync(join(ROOT, 'config', 'schema.json'), 'utf8'),
    );
  });
});
