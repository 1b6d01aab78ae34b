/**
 * `npm run fixtures`: runs the fixture drills (scripts/fixture-drills.ts) on this machine and
 * writes their journals to test/fixtures/journals/, the inputs of every reporter test.
 */
import { writeFixtures } from './fixture-drills.js';

writeFixtures('test/fixtures/journals').then(
  () => process.stdout.write('fixtures written to test/fixtures/journals/\n'),
  (error: unknown) => {
    process.stderr.write(`fixtures: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
