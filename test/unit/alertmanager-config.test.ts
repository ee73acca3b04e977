// The alertmanager block: in the config file, GAMEDAY_ALERTMANAGER_URL in the environment; every
// problem by field path (or variable name); absent, no notifier.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';
import { problemsOf } from '../helpers/config-problems.ts';

const configFile = (text: string) => writeFile(tempDir(), 'gameday.yaml', text);

describe('alertmanager config', () => {
  it('absent: no notifier', () => {
    expect(loadConfig({ env: {} }).alertmanager).toBeUndefined();
    expect(resolveRunPlan({ metricsPort: '0' }, {}).alertmanager).toBeNull();
  });

  it('from the file, resendEvery 30s by default; the environment replaces the URLs, comma-separated', () => {
    const file = configFile('alertmanager: { urls: [http://127.0.0.1:9093], resendEvery: 10s }\n');
    expect(loadConfig({ configFile: file, env: {} }).alertmanager).toEqual({ urls: ['http://127.0.0.1:9093'], resendEvery: 10_000 });
    expect(loadConfig({ env: { GAMEDAY_ALERTMANAGER_URL: 'http://a:9093' } }).alertmanager).toEqual({
      urls: ['http://a:9093'],
      resendEvery: 30_000,
    });
    const both = loadConfig({ configFile: file, env: { GAMEDAY_ALERTMANAGER_URL: ' http://a:9093, https://u:p@b/am ' } });
    expect(both.alertmanager).toEqual({ urls: ['http://a:9093', 'https://u:p@b/am'], resendEvery: 10_000 });
    expect(resolveRunPlan({ metricsPort: '0' }, { GAMEDAY_ALERTMANAGER_URL: 'http://a:9093' }).alertmanager).toEqual({
      urls: ['http://a:9093'],
      resendEveryMs: 30_000,
    });
  });

  it('bad URLs and durations by field path', () => {
    const file = configFile('alertmanager: { urls: [ftp://x, "http://127.0.0.1:0"], resendEvery: 0s }\n');
    expect(problemsOf(() => loadConfig({ configFile: file, env: {} }))).toEqual([
      'alertmanager.urls.0: expected an http:// or https:// URL',
      'alertmanager.urls.1: the port must be 1–65535',
      'alertmanager.resendEvery: from 1s to 2m',
    ]);
    expect(problemsOf(() => loadConfig({ configFile: configFile('alertmanager: { urls: [], resendEvery: soon }\n'), env: {} }))).toEqual([
      'alertmanager.urls: expected at least one Alertmanager URL',
      'alertmanager.resendEvery: expected a duration such as "250ms", "10s" or "2m"',
    ]);
    expect(problemsOf(() => loadConfig({ configFile: configFile('alertmanager: { resendEvery: 3m, url: x }\n'), env: {} }))).toEqual([
      'alertmanager.resendEvery: from 1s to 2m',
      'alertmanager.url: unknown field',
    ]);
    // the URLs may come from the environment, but from somewhere
    expect(problemsOf(() => loadConfig({ configFile: configFile('alertmanager: { resendEvery: 5s }\n'), env: {} }))).toEqual([
      'alertmanager.urls: required',
    ]);
  });

  it('GAMEDAY_ALERTMANAGER_URL is checked like the field, named by the variable', () => {
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_ALERTMANAGER_URL: 'http://ok:9093,not a url' } }))).toEqual([
      'GAMEDAY_ALERTMANAGER_URL: expected an http:// or https:// URL',
    ]);
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_ALERTMANAGER_URL: ',' } }))).toEqual([
      'GAMEDAY_ALERTMANAGER_URL: expected at least one Alertmanager URL',
    ]);
  });
});
