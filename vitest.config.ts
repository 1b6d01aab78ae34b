import { defineConfig } from 'vitest/config';

/**
 * The suite in two halves of about equal time: the longest drill files (backup tools, broken
 * backups, containers, faults, standbys, storage), and the rest (one drill per engine,
 * comparisons, instances, the CLI, reports, verify, game days, unit tests). Within a project
 * files run one at a time — more at once would make their servers fight for the 2 cores of a
 * CI machine — and `npm test` (scripts/test.sh) runs the two projects side by side. Every
 * figure a test asserts is counted (writes lost, rows, files), never a duration against a
 * tight bound, so sharing the cores changes no verdict.
 */
const DRILLS = ['backup-tools', 'broken-backups', 'docker-drills', 'faults', 'replicas', 's3-storage'].map(
  (name) => `test/integration/${name}.test.ts`,
);

const shared = { testTimeout: 180_000, hookTimeout: 60_000, fileParallelism: false } as const;

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'drills', include: DRILLS } },
      { test: { ...shared, name: 'commands', include: ['test/**/*.test.ts'], exclude: DRILLS } },
    ],
  },
});
