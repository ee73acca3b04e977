// The package as a user gets it: `npm pack`, the tarball installed into an empty directory (its
// dependencies from the registry, the npm cache first), and the demo game day run from there with
// `npx gameday`. Nothing of the checkout is on that path: no tsx, no sources, only dist/.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';

const run = promisify(execFile);
const NPM = 'npm';

describe('the packed tarball', () => {
  it('installs into an empty directory and runs the demo game day there (errors: exit 3)', async () => {
    const out = tempDir('gameday-pack-');
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', out], { cwd: ROOT, timeout: 180_000, maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('dist/cli.js');
    expect(paths).toContain('dist/pricing-process.js');
    expect(paths).toContain('bin/gameday.js');
    expect(paths).toContain('config/default.yaml');
    expect(paths).toContain('config/schema.json'); // what the files' modelines point at
    expect(paths).toContain('LICENSE');
    // what a user does not need is not shipped
    for (const p of paths) expect(p).not.toMatch(/^(src|test|bench|components)\/|\.ts$|\.built$/);

    const app = tempDir('gameday-installed-');
    await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, packed.filename)], {
      cwd: app,
      timeout: 600_000,
      maxBuffer: 16 << 20,
    });
    const installed = join(app, 'node_modules', 'gameday');
    expect(existsSync(join(installed, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false); // a dev dependency only
    expect(readdirSync(installed).sort()).toEqual(['LICENSE', 'README.md', 'bin', 'config', 'dist', 'docs', 'package.json', 'scripts']);

    // init in a project that installed gameday: the modeline points into node_modules, relatively
    await run('npx', ['--no-install', 'gameday', 'init'], { cwd: app, timeout: 60_000 });
    const modeline = readFileSync(join(app, 'experiment.yaml'), 'utf8').split('\n')[0];
    expect(modeline).toBe('# yaml-language-server: $schema=node_modules/gameday/config/schema.json');
    expect(existsSync(join(app, 'node_modules', 'gameday', 'config', 'schema.json'))).toBe(true);

    const state = join(app, 'state');
    const demo = await run(
      'npx',
      ['--no-install', 'gameday', 'run', '--headless', '--experiment-type', 'errors', '--metrics-port', '0', '--state-dir', state],
      { cwd: app, timeout: 120_000, env: { ...process.env, CI: 'true' } },
    ).then(
      (r) => ({ code: 0, ...r }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    expect(demo.code, demo.stdout.slice(-2000) + demo.stderr.slice(-2000)).toBe(3);
    expect(demo.stdout).toMatch(/result: BREACH \(exit 3\)/);
    const journal = readdirSync(join(state, 'journals'))[0];
    expect(readFileSync(join(state, 'journals', journal), 'utf8')).toContain('"journal":"gameday"');
  }, 900_000);
});
