// What `gameday init` writes, as pure functions: the same fault types and values as the templates
// in config/experiments, the config's defaults in its comments, and the modeline's path.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { INIT_TYPES, experimentYaml } from '../../src/commands/init-template.ts';
import { schemaRefFor } from '../../src/commands/init.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ExperimentSchema } from '../../src/config/schema.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TEMPLATES = join(ROOT, 'config', 'experiments');
const defaults = loadConfig({ env: {} });
const written = (type: (typeof INIT_TYPES)[number], targetUrl?: string, config = defaults) =>
  experimentYaml({ type, targetUrl, name: 'n', schemaRef: 'x.json' }, config);

describe('init template', () => {
  it('offers exactly the types of config/experiments', () => {
    const templates = readdirSync(TEMPLATES)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -5));
    expect([...INIT_TYPES].sort()).toEqual(templates.sort());
  });

  for (const type of INIT_TYPES) {
    it(`${type}: on the demo, the template's fault, schedule, budget and rollback`, () => {
      const mine = ExperimentSchema.parse(parseYaml(written(type)));
      const template = ExperimentSchema.parse(parseYaml(readFileSync(join(TEMPLATES, `${type}.yaml`), 'utf8')));
      expect(mine.fault).toEqual(template.fault);
      expect(mine.schedule).toEqual(template.schedule);
      expect(mine.budget).toEqual(template.budget);
      expect(mine.rollback).toEqual(template.rollback);
      expect(mine.target).toBeUndefined();
    });

    it(`${type}: with a target, no demo-only rollback step, and the target's URL`, () => {
      const mine = ExperimentSchema.parse(parseYaml(written(type, 'http://svc.internal:8080')));
      expect(mine.target?.url).toBe('http://svc.internal:8080');
      expect(mine.rollback).toEqual([]);
    });
  }

  it("shows the config's defaults in its comments, not numbers of its own", () => {
    const config = { ...defaults, slo: { ...defaults.slo, p95LatencyMs: 777, window: 12_000 } };
    const text = written('latency', undefined, config);
    expect(text).toMatch(/^# {3}p95LatencyMs: 777 /m);
    expect(text).toMatch(/^# {3}window: 12s /m);
    expect(written('latency')).toMatch(new RegExp(`^# {3}p95LatencyMs: ${defaults.slo.p95LatencyMs} `, 'm'));
  });

  it('a target URL that YAML would read otherwise is written quoted', () => {
    const url = 'http://h:8080/#x: y';
    expect(ExperimentSchema.parse(parseYaml(written('errors', url))).target?.url).toBe(url);
  });

  it('the modeline: relative when the file and the schema share a directory under /, else absolute', () => {
    const inProject = '/home/u/shop/node_modules/gameday/config/schema.json';
    expect(schemaRefFor('/home/u/shop/experiment.yaml', inProject)).toBe('node_modules/gameday/config/schema.json');
    expect(schemaRefFor('/work/gameday/experiments/x.yaml', '/work/gameday/config/schema.json')).toBe('../config/schema.json');
    const global = '/usr/lib/node_modules/gameday/config/schema.json';
    expect(schemaRefFor('/tmp/x.yaml', global)).toBe(global);
  });
});
