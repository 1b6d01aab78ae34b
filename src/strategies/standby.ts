import { z } from 'zod';
import type { StartedInstance } from '../providers/provider.js';
import { duration } from '../util/duration.js';
import { formatDuration } from '../util/duration.js';
import { BackupDefect } from '../storage/transfer.js';
import { sourceAnswers } from './source.js';
import { defineStrategy, type StrategyDefinition } from './strategy.js';

/**
 * A standby beside the primary, and failover to it: the standby is created where the other
 * strategies take their backup (a base copy streamed from the primary, then replication), and
 * recovery promotes it. A standby is not a backup: a logical fault replicates to it, and only a
 * delayed one can stop before the fault.
 */
export function standbyStrategy(name: string, summary: string, kind: { sync: boolean; delayed: boolean }): StrategyDefinition {
  const region = z.string().min(1).optional().describe("The region the standby runs in (default: the source's; a standby in the source's region is lost with it)");
  // Only a delayed standby has a delay to set.
  const options = z.strictObject(
    kind.delayed
      ? { region, delay: duration.prefault('30s').describe('How long the standby waits before applying what it receives (must be longer than the fault takes to be noticed)') }
      : { region },
  );
  return defineStrategy({
    name,
    summary,
    engines: ['postgres', 'mariadb'],
    pointInTime: false,
    keeps: 'standby',
    logical: false,
    options,
    create(chosen) {
      const delayMs = kind.delayed ? Number((chosen as Record<string, unknown>).delay) : 0;
      let standby: StartedInstance | undefined;
      let standbyRegion = '';
      return {
        sourceSetup: ({ engine }) => ({ settings: engine.replication.primarySettings() }),
        async backup(context) {
          standbyRegion = chosen.region ?? context.region;
          const created = await context.createInstance('standby', { region: standbyRegion });
          standby = await context.engine.replication.createStandby(context.source, created, { sync: kind.sync, delayMs, exec: context.exec });
          return { objects: [], state: {}, consistentAt: { detail: `${kind.sync ? 'synchronous' : 'asynchronous'} streaming standby${delayMs ? `, applying ${formatDuration(delayMs)} behind` : ''}` } };
        },
        beside: () => (standby ? [{ instance: standby, region: standbyRegion }] : []),
        async sample(context): Promise<Record<string, number | null>> {
          if (!standby) return {};
          const lag = await context.engine.replication.lag(context.source, standby);
          return { lagBytes: lag.bytes, lagMs: lag.ms };
        },
        async recover(context, { target, faultPoint }) {
          if (!standby) throw new Error('there is no standby to fail over to (the backup step did not create one)');
          if (!(await standby.isRunning())) {
            throw new BackupDefect(
              'missing',
              `the standby is gone: it ran in region "${standbyRegion}", lost with the primary; run it in another region (strategy option region) to survive a region loss`,
            );
          }
          // A logical fault is a transaction the standby receives like any other: only a delayed
          // standby can stop before it. A fault that took the server has none: everything the
          // standby received is from before it.
          const faultTransaction = target.kind === 'before-fault' && faultPoint.transaction !== undefined;
          const before = kind.delayed && faultTransaction ? faultPoint : undefined;
          // Fencing: the old primary must not take writes once the standby is the primary. A
          // delayed standby catching up to just before the fault may still need the primary's
          // log (a replica that re-reads it from a position), so it is fenced once promoted.
          const fence = async () => {
            if (await sourceAnswers(context)) await context.phase('fence', () => context.source.stop());
          };
          if (!before) await fence();
          const promoted = await context.phase('promote', () => context.engine.replication.promote(standby!, { ...(before ? { before } : {}), delayMs, exec: context.exec }));
          if (before) await fence();
          const wanted = faultTransaction && !before;
          return {
            instance: promoted.instance,
            recovery: {
              method: before ? 'stop the delayed standby just before the fault, then promote it' : 'promote the standby (failover)',
              point: before ? 'fault' : 'failover',
              // A standby applies a logical fault as soon as it has it: failing over cannot go back before it.
              reached: wanted ? false : promoted.reached,
              detail: wanted ? `${promoted.detail}; a standby applies the fault as soon as it receives it, so failing over does not go back before it` : promoted.detail,
            },
          };
        },
      };
    },
  });
}
