import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeftovers, removeLeftovers } from '../../src/runner/cleanup.js';

/**
 * The suite's drills record what they create in a run registry of the suite's own. A test that
 * times out is abandoned with its drill half-way, and its worker exits without cleaning up: at
 * the end, whatever such runs left (servers, directories, object prefixes) is removed, and
 * named, so the hole shows rather than piling up on the machine.
 */
export function setup(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'firedrill-suite-state-'));
  process.env.FIREDRILL_STATE_DIR = dir;
  return async () => {
    const found = await findLeftovers();
    // Only what the suite's own registry recorded: containers of other runs are not the suite's to judge.
    const leftovers = found.leftovers.filter((leftover) => leftover.owner !== undefined);
    if (leftovers.length > 0) {
      process.stderr.write(`\nfiredrill suite: removing what abandoned drills left behind:\n${leftovers.map((leftover) => `  ${leftover.kind}: ${leftover.where}`).join('\n')}\n`);
      await removeLeftovers({ leftovers, deadRuns: found.deadRuns });
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
