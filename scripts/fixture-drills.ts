import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../src/journal/types.js';
import { runDrill } from '../src/runner/drill.js';
import { parseScenario } from '../src/scenario/loader.js';

/**
 * The drills whose journals are the reporters' test fixtures: real drills, run by
 * `npm run fixtures`, never journals written by hand. Each tells one story a report must get
 * right: a pass, a breach (of several objectives, with a check that failed), a drill that
 * could not run. Small and fast, so refreshing them is cheap.
 */
export const FIXTURE_DRILLS: Record<'passed' | 'breached' | 'error' | 'failover' | 'broken-chain', string> = {
  passed: `name: fixture-bad-delete-pitr
description: A bad DELETE on orders, restored to just before it from a base backup and the WAL archive
target: { engine: postgres, provider: local, dataset: { builtin: shop, scale: 0.2 } }
workload: { writers: 3, rate: 150, warmup: 1s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 3s, detectAfter: 1s }
objectives:
  rto: 2m
  rpo: 1s
  checks:
    - { name: seeded orders are back, sql: "SELECT count(*) FROM orders WHERE order_id <= 2000", expect: 2000 }
`,
  breached: `name: fixture-dump-too-old
description: A nightly dump cannot meet a one-second RPO, nor a ten-millisecond RTO
target: { engine: postgres, provider: local, dataset: { builtin: shop, scale: 0.2 } }
workload: { writers: 3, rate: 150, warmup: 1s }
strategy: pg-dump
fault: { kind: truncate, table: order_items, at: 3s, detectAfter: 1s }
objectives:
  rto: { service: 10ms }
  rpo: { dataLoss: 1s, lostWrites: 0 }
  checks:
    - { name: the newest orders are back, sql: "SELECT count(*) FROM orders WHERE created_at > now() - interval '2 seconds'", expect: "> 0" }
`,
  error: `name: fixture-check-cannot-run
description: A check whose SQL names a table the dataset does not have
target: { engine: postgres, provider: local, dataset: { builtin: shop, scale: 0.2 } }
workload: { writers: 3, rate: 150, warmup: 1s }
strategy: pg-basebackup
fault: { kind: bad-delete, table: orders, at: 3s, detectAfter: 1s }
objectives:
  checks:
    - { name: invoices are back, sql: "SELECT count(*) FROM invoices", expect: "> 0" }
`,
  failover: `name: fixture-region-failover
description: Region eu lost with the primary and its backups; failover to the asynchronous standby in us
target: { engine: postgres, provider: local, region: eu, dataset: { builtin: shop, scale: 0.2 } }
storage:
  primary: { type: local, region: eu }
workload: { writers: 3, rate: 150, warmup: 1s }
strategy: { name: replica-async, region: us }
fault: { kind: region-loss, at: 4s, detectAfter: 1s }
objectives:
  rto: 1m
  rpo: 1s
`,
  'broken-chain': `name: fixture-wal-gap
description: A bad DELETE, and the WAL segment holding it missing from the archive
target: { engine: postgres, provider: local, dataset: { builtin: shop, scale: 0.2 } }
workload: { writers: 3, rate: 150, warmup: 1s }
strategy: pg-basebackup-wal
fault:
  - { kind: bad-delete, table: orders, at: 3s, detectAfter: 1s }
  - { kind: wal-gap, file: fault }
`,
};

/** What of a journal depends on the machine it ran on: the host's name, temp directories. */
function portable(text: string): string {
  return text
    .replaceAll(hostname(), 'drill-host')
    .replace(/\/tmp\/firedrill-[\w-]+?(?=[/"'\s)])/g, '/tmp/firedrill-run')
    .replaceAll(process.cwd(), '/home/user/project');
}

/** Runs the fixture drills and returns their journals (as stored: with the machine made anonymous). */
export async function runFixtureDrills(): Promise<Record<keyof typeof FIXTURE_DRILLS, Journal>> {
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-fixtures-'));
  try {
    const journals = {} as Record<keyof typeof FIXTURE_DRILLS, Journal>;
    for (const [name, text] of Object.entries(FIXTURE_DRILLS) as Array<[keyof typeof FIXTURE_DRILLS, string]>) {
      const scenario = await parseScenario(text, join(process.cwd(), 'scenarios', `${name}.yaml`));
      const { dir } = await runDrill(scenario, { runId: '20261201-120000-f1x7', runDir });
      journals[name] = JSON.parse(portable(await readFile(join(dir, 'journal.json'), 'utf8'))) as Journal;
    }
    return journals;
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Writes the fixtures (`npm run fixtures`). */
export async function writeFixtures(dir: string): Promise<void> {
  for (const [name, journal] of Object.entries(await runFixtureDrills())) {
    await writeFile(join(dir, `${name}.json`), `${JSON.stringify(journal, null, 2)}\n`);
  }
}
