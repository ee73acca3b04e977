// npm run schema: the JSON Schemas editors check gameday's YAML files against (the
// `# yaml-language-server: $schema=…` line at the top of each), generated from the zod schemas
// that gameday itself parses with, so the two cannot tell a user different things.
// `npm run schema -- --check` writes nothing and exits 1 when a committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { DURATION_PATTERN, durationAsWritten } from '../src/config/duration.ts';
import { ConfigFileSchema, ExperimentSchema } from '../src/config/schema.ts';

type Json = Record<string, unknown>;

/** Draft 7's formats; zod adds its own (`starts_with`), which validators reject or ignore. */
const DRAFT7_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);

const isDuration = (json: Json): boolean =>
  Array.isArray(json.anyOf) && (json.anyOf as Json[]).some((branch) => branch.pattern === DURATION_PATTERN.source);

/** A default as a user would write it: durations as "30s", not 30000 (both parse; one reads). */
function asWritten(value: unknown, json: Json): unknown {
  if (typeof value === 'number' && isDuration(json)) return durationAsWritten(value);
  if (value && typeof value === 'object' && !Array.isArray(value) && json.properties) {
    const props = json.properties as Record<string, Json>;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, props[k] ? asWritten(v, props[k]) : v]));
  }
  return value;
}

/**
 * What zod's conversion leaves out or says in its own words, put as draft 7 and editors read it.
 * Refinements (money in whole micro-dollars, a pid that is not gameday's) have no JSON Schema form:
 * the descriptions say them, and `gameday validate` checks them.
 */
function fixUp(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: Json }): void {
  const json = ctx.jsonSchema;
  const def = ctx.zodSchema._zod.def as { type: string; defaultValue?: unknown; protocol?: RegExp };
  if (typeof json.format === 'string' && !DRAFT7_FORMATS.has(json.format)) delete json.format;
  if (isDuration(json)) {
    for (const branch of json.anyOf as Json[])
      branch.description = branch.type === 'number' ? 'milliseconds' : 'a duration: "250ms", "10s", "2m" or "1h"';
  }
  // the input side of a transform has no default of its own in zod's conversion; the output's is a
  // valid input here (milliseconds), written as a user would write it
  if (def.type === 'default' && !('default' in json)) json.default = asWritten(def.defaultValue, json);
  // z.url({ protocol: /^https?$/ }): the protocol check, which "format: uri" alone does not make
  if (json.format === 'uri' && def.protocol?.source === '^https?$') json.pattern = '^[Hh][Tt][Tt][Pp][Ss]?://';
}

/** The JSON Schema of `schema` as the files hold it: draft 7 (what the YAML language server reads), the input side. */
export function jsonSchemaText(schema: z.ZodType, title: string): string {
  const generated = z.toJSONSchema(schema, { target: 'draft-07', io: 'input', override: fixUp }) as Json;
  const { $schema, ...rest } = generated;
  const ordered = { $schema, $comment: 'Generated from src/config/schema.ts by `npm run schema`: do not edit.', title, ...rest };
  return JSON.stringify(ordered, null, 2) + '\n';
}

/** Each generated file, by its path in the package, and the schema it comes from. */
export const SCHEMA_FILES: Record<string, { schema: z.ZodType; title: string }> = {
  'config/schema.json': { schema: ExperimentSchema, title: 'gameday experiment file' },
  'config/config-file.schema.json': { schema: ConfigFileSchema, title: 'gameday config file (config/default.yaml, --config FILE)' },
};

/** Where two JSON values first differ, as a path ("properties.fault.oneOf.0"); null: the same. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  const here = path || '(top level)';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return here;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const diff = firstDifference((a as Json)[key], (b as Json)[key], path ? `${path}.${key}` : key);
    if (diff) return diff;
  }
  // same content, other order or spacing: still stale, the file is compared byte for byte
  return null;
}

/** A problem for each generated file whose committed text is not what the schemas give now. */
export function staleFiles(root: string, files = SCHEMA_FILES): string[] {
  const problems: string[] = [];
  for (const [path, { schema, title }] of Object.entries(files)) {
    const expected = jsonSchemaText(schema, title);
    let committed: string;
    try {
      committed = readFileSync(join(root, path), 'utf8');
    } catch {
      problems.push(`${path}: missing; run \`npm run schema\``);
      continue;
    }
    if (committed === expected) continue;
    let where: string | null;
    try {
      where = firstDifference(JSON.parse(committed), JSON.parse(expected));
    } catch {
      where = '(not JSON)';
    }
    problems.push(
      `${path}: out of date with src/config/schema.ts${where ? ` (first difference at ${where})` : ' (formatting)'}; run \`npm run schema\``,
    );
  }
  return problems;
}

function main(argv: string[]): number {
  const root = resolve(import.meta.dirname, '..');
  if (argv.includes('--check')) {
    const problems = staleFiles(root);
    for (const p of problems) process.stderr.write(p + '\n');
    return problems.length ? 1 : 0;
  }
  for (const [path, { schema, title }] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(join(root, path), jsonSchemaText(schema, title));
    process.stdout.write(`wrote ${path}\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
