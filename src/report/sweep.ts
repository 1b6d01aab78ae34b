import type { Journal } from '../journal/types.js';
import { fitRtoModel, forecast, type RtoForecast, type RtoModel, type SweepDrill } from '../measure/forecast.js';

/** One sweep of a run: the drills of one scenario at each size, the model fitted to them, and its forecast. */
export interface Sweep {
  scenario: string;
  strategy: string;
  /** Smallest to largest, as the scenario listed them. */
  drills: Journal[];
  /** The drills the model was fitted to: those that restored and were measured (a failed restore has no phases to fit). */
  fitted: Journal[];
  model: RtoModel | undefined;
  forecast: RtoForecast | undefined;
  /** Why there is no model, or no forecast, in words. */
  notes: string[];
}

interface ScenarioSpec {
  objectives?: { rto?: number | { service?: number; verified?: number } };
  forecast?: { size: number; logPerHour?: number; backupEvery?: number };
}

/** A fault just before the next base backup replays a whole interval: a day unless the scenario says. */
const DEFAULT_BACKUP_EVERY_MS = 24 * 3_600_000;

/** The sweeps among a run's journals (drills with a `sweep` record), grouped by scenario, each fitted and forecast. */
export function buildSweeps(journals: readonly Journal[]): Sweep[] {
  const groups = new Map<string, Journal[]>();
  for (const journal of journals) {
    if (!journal.sweep) continue;
    const key = `${journal.runId}\u0000${journal.scenario.name}`;
    groups.set(key, [...(groups.get(key) ?? []), journal]);
  }
  return [...groups.values()].map((group) => {
    const drills = [...group].sort((a, b) => a.sweep!.index - b.sweep!.index);
    const fitted = drills.filter((journal) => journal.measurements.rtoServiceMs !== null && journal.volume !== undefined);
    const notes: string[] = [];
    const left = drills.length - fitted.length;
    if (left > 0) notes.push(`${left} of the ${drills.length} sizes restored nothing to measure and are left out of the model: see their reports`);
    const points: SweepDrill[] = fitted.map((journal) => ({ drill: journal.sweep!.label, dataBytes: journal.volume!.dataBytes, logBytes: journal.volume!.logBytes ?? 0, phases: journal.measurements.rtoBreakdown }));
    const model = points.length >= 2 ? fitRtoModel(points, { log: fitted[0]!.volume!.log ?? 'log' }) : undefined;
    if (!model) notes.push(`a model needs at least 2 measured sizes; ${points.length} measured`);
    const spec = drills[0]!.scenario.spec as ScenarioSpec;
    let projected: RtoForecast | undefined;
    if (model && spec.forecast) {
      const rto = spec.objectives?.rto;
      projected = forecast(model, {
        size: spec.forecast.size,
        logPerHour: spec.forecast.logPerHour ?? 0,
        backupEvery: spec.forecast.backupEvery ?? DEFAULT_BACKUP_EVERY_MS,
        objectives: typeof rto === 'number' ? { rtoVerifiedMs: rto } : { ...(rto?.service !== undefined ? { rtoServiceMs: rto.service } : {}), ...(rto?.verified !== undefined ? { rtoVerifiedMs: rto.verified } : {}) },
      });
    } else if (model) {
      notes.push('no forecast: the scenario gives no forecast: { size: 800GB, logPerHour: 20GB, backupEvery: 24h }');
    }
    return { scenario: drills[0]!.scenario.name, strategy: drills[0]!.strategy, drills, fitted, model, forecast: projected, notes };
  });
}
