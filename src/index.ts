/**
 * firedrill as a library: load scenarios, run drills, render reports from journals.
 * The CLI (`firedrill run`) is a thin layer over these.
 */
export { runDrill, type DrillOptions, type DrillOutcome } from './runner/drill.js';
export { runScenarios, planDrills, loadAll, exitCodeOf, type RunOptions, type DrillPlan } from './runner/run.js';
export { buildComparisons, type Comparison } from './compare/comparison.js';
export { loadScenario, parseScenario, ScenarioError, formatProblem, type Scenario, type ScenarioProblem } from './scenario/loader.js';
export { scenarioSchema, scenarioJsonSchema, type ScenarioInput } from './scenario/schema.js';
export { engines } from './engines/index.js';
export { providers, type ProviderName } from './providers/index.js';
export { strategies } from './strategies/index.js';
export { faults } from './faults/index.js';
export { storageTypes, type StorageType } from './storage/index.js';
export { reporters, writeReports, readJournals, type Reporter, type ReporterName } from './report/index.js';
export type * from './journal/types.js';
export type { Engine, ConnectionInfo, SqlSession, ServerPoint } from './engines/engine.js';
export type { Provider, StoppedInstance, StartedInstance, InstanceBase } from './providers/provider.js';
export type { StrategyDefinition, Strategy, StrategyContext } from './strategies/strategy.js';
export type { FaultDefinition, FaultContext, FaultOutcome } from './faults/fault.js';
export type { StorageLocation } from './storage/storage.js';
export { ExitCode } from './util/errors.js';
