import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    // dist/ up to date before the tests that run the compiled CLI
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests measure timing on a 2-core machine: run files one at a time so they do
    // not starve each other's event loops and turn into flaky timing failures.
    fileParallelism: false,
    reporters: ['default'],
    // npm run coverage (off in npm test: it slows the timed integration tests)
    coverage: { provider: 'v8', include: ['src/**', 'components/**'], reporter: ['text-summary', 'text'] },
  },
});
