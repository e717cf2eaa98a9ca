import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, runs anywhere) and `lab` (starts real MooseFS daemons and ours in
// network namespaces; needs root, runs one file at a time so two clusters never fight for 2 cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/unit/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'packages/*/test/lab/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/test/**/*.test.ts', 'test/interop/**/*.test.ts', 'packages/*/test/lab/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
