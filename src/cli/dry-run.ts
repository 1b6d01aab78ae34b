import { join } from 'node:path';
import { engines } from '../engines/index.js';
import { resolveProvider } from '../providers/index.js';
import { runbookOf } from '../report/runbook.js';
import { lastPassing } from '../runner/history.js';
import { planDrills, type PlanOptions } from '../runner/run.js';
import type { Scenario } from '../scenario/loader.js';
import type { LocationOptions } from '../storage/index.js';
import { strategies } from '../strategies/index.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';

/**
 * `run --dry-run`: what each drill would do, in order and with its times, and where it would
 * run — without provisioning anything. The commands come from the newest passing drill of the
 * same scenario and strategy in the reports folder: a drill's commands hold paths, ports and
 * positions known only once it runs.
 */
export async function dryRun(scenarios: readonly Scenario[], plan: PlanOptions, outDir: string): Promise<string> {
  const blocks: string[] = [];
  for (const { scenario, comparison } of planDrills(scenarios, plan)) {
    const engine = engines[scenario.target.engine];
    const strategy = strategies[scenario.strategy.name];
    const where = await resolveProvider({ name: scenario.target.provider, engine, version: scenario.target.version, image: scenario.target.image }).then(
      (provider) => `${provider.name} provider`,
      (error: unknown) => `no provider can run it here: ${errorMessage(error)}`,
    );
    const dataset = 'builtin' in scenario.target.dataset ? `built-in ${scenario.target.dataset.builtin}, scale ${scenario.target.dataset.scale}` : `files ${scenario.target.dataset.files.join(', ')}`;
    const storage = (Object.entries(scenario.storage) as Array<[string, LocationOptions]>)
      .map(([name, options]) => `${name} (${options.type}, region ${options.region}${options.copy ? `, copy of ${options.copy.from} every ${formatDuration(options.copy.every)}` : ''}${options.encryption ? ', encrypted' : ''})`)
      .join('; ');
    const { workload, backups, fault } = scenario;
    const backupTimes = Array.from({ length: backups.count }, (_, index) => `+${formatDuration(workload.warmup + index * backups.every)}`).join(', ');
    const lines = [
      `${scenario.name} (${comparison?.label ?? strategy.name}${comparison && comparison.repetitions > 1 ? ` run ${comparison.repetition}/${comparison.repetitions}` : ''}) — ${scenario.file}`,
      `  provision  ${engine.displayName}${scenario.target.version ? ` ${scenario.target.version}` : ''} on the ${where}, region ${scenario.target.region}; storage ${storage}`,
      `  seed       ${dataset}`,
      `  workload   ${workload.writers} writers, ${workload.rate === 'max' ? 'as fast as possible' : `${workload.rate} writes/s`}, from +0 s`,
      `  backup     ${strategy.name}: ${strategy.summary}; ${backups.count === 1 ? 'one backup' : `${backups.count} backups`} at ${backupTimes}`,
      `  fault      ${[fault, ...scenario.latentFaults].map((spec) => `${spec.kind}${'table' in spec ? ` on ${String(spec.table)}` : ''}`).join(' + ')} at +${formatDuration(fault.at)}, detected ${formatDuration(fault.detectAfter)} later`,
      `  recovery   ${scenario.recovery.method === 'auto' ? (strategy.keeps === 'standby' ? 'fail over' : 'restore') : scenario.recovery.method}, target ${scenario.recovery.target}`,
      `  verify     ${['the ledger of acknowledged writes', ...('table' in fault ? ['the damage undone'] : []), 'equality with the source', ...scenario.objectives.checks.map((check) => `check "${check.name}"`)].join(', ')}`,
      ...(workload.resume > 0 ? [`  resume     the workload writes to the restored database for ${formatDuration(workload.resume)} after the verdict`] : []),
    ];
    const last = (await lastPassing(outDir, scenario.name, scenario.strategy.name))?.journal;
    if (last) {
      lines.push(`  its restore path, as the last passing drill ran it (${last.startedAt}, ${join(outDir, last.runId, last.drillId)}):`);
      const runbook = runbookOf(last);
      for (const command of runbook.steps) lines.push(`    [${command.phase}] ${command.command}`);
      if (runbook.parameters.length > 0) lines.push(`    where ${runbook.parameters.map((parameter) => `\${${parameter.name}} was ${parameter.value}`).join(', ')}`);
    } else {
      lines.push(`  its commands are known once it has run (no passing drill of it in ${outDir}/ yet)`);
    }
    blocks.push(lines.join('\n'));
  }
  return `dry run: nothing is provisioned\n\n${blocks.join('\n\n')}`;
}
