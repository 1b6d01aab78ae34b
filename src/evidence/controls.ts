import type { Journal, ObjectiveResult } from '../journal/types.js';
import { OBJECTIVE } from '../measure/verdict.js';

/**
 * The controls an evidence bundle speaks to: the clauses of SOC 2, ISO/IEC 27001:2022, DORA
 * and HIPAA that ask for restores and recovery procedures to be tested. Each says, in our own
 * words, what it asks and what a drill shows towards it, and which drills count: a drill
 * evidences a control only for what it did (one that could not run tested nothing, and a
 * failover restored no backup).
 */
export interface Control {
  /** How auditors cite it: `SOC 2 A1.3`. */
  id: string;
  framework: string;
  title: string;
  /** What the control asks, briefly. */
  asks: string;
  /** What the drills in the bundle show towards it. */
  shows: string;
  covers: (journal: Journal) => boolean;
}

/** A drill that ran to a verdict: one that could not run or was interrupted tested nothing. */
const judged = (journal: Journal) => journal.status === 'passed' || journal.status === 'failed';

/** It ran a recovery: a restore, a restart or a failover. */
const recovered = (journal: Journal) => judged(journal) && journal.recovery !== undefined;

/** It restored a backup (or tried every one): a failover promotes a standby, which is not a backup. */
const restoredBackup = (journal: Journal) =>
  recovered(journal) && journal.recovery!.point !== 'failover' && (journal.recovery!.backupUsed !== undefined || (journal.recovery!.attempts?.length ?? 0) > 0);

/** It kept copies to recover from: backups, or a standby. */
const keptCopies = (journal: Journal) => recovered(journal) && ((journal.backups?.length ?? 0) > 0 || journal.recovery!.point === 'failover');

const RTO_OBJECTIVES: readonly string[] = [OBJECTIVE.rtoService, OBJECTIVE.rtoVerified];
const RPO_OBJECTIVES: readonly string[] = [OBJECTIVE.dataLoss, OBJECTIVE.lostWrites];

/** The drill's recovery-time objectives, or its recovery-point ones, as judged. */
export function objectivesOf(journal: Journal, kind: 'rto' | 'rpo'): ObjectiveResult[] {
  const names = kind === 'rto' ? RTO_OBJECTIVES : RPO_OBJECTIVES;
  return journal.objectives.filter((objective) => names.includes(objective.name));
}

/** Judged against a recovery time or point the scenario set. */
const againstObjectives = (journal: Journal) => recovered(journal) && (objectivesOf(journal, 'rto').length > 0 || objectivesOf(journal, 'rpo').length > 0);

export const CONTROLS: readonly Control[] = [
  {
    id: 'SOC 2 A1.2',
    framework: 'SOC 2, Trust Services Criteria (availability)',
    title: 'Backup and recovery infrastructure',
    asks: 'The means to back data up and to recover the system are put in place, operated and monitored, so that the system meets its availability commitments.',
    shows: 'Each drill took backups (or kept a standby) the way its scenario says, kept them in the storage the scenario names, and recovered from them. The drill report lists every backup with its size, duration and checksums, and where it was kept.',
    covers: keptCopies,
  },
  {
    id: 'SOC 2 A1.3',
    framework: 'SOC 2, Trust Services Criteria (availability)',
    title: 'Recovery plan testing',
    asks: 'The procedures that recover the system are tested, to show that recovery meets the objectives set for it.',
    shows: "Each drill injected a fault under load, ran the recovery end to end, timed it, and judged it against the scenario's objectives and checks.",
    covers: recovered,
  },
  {
    id: 'ISO/IEC 27001:2022 A.8.13',
    framework: 'ISO/IEC 27001:2022, Annex A',
    title: 'Information backup',
    asks: "Backup copies are kept, and restoring them is tested regularly, as the organisation's backup policy sets out.",
    shows: "Drills that restored a backup: its checksums were compared before the restore, and the restored database was compared with the source object by object and row by row, and checked with the scenario's checks.",
    covers: restoredBackup,
  },
  {
    id: 'ISO/IEC 27001:2022 A.5.30',
    framework: 'ISO/IEC 27001:2022, Annex A',
    title: 'ICT readiness for business continuity',
    asks: "The ability of ICT to resume service is planned, maintained and tested against the organisation's continuity objectives: how fast, and how much data may be lost.",
    shows: 'Drills judged against a recovery time (RTO) or recovery point (RPO) objective, the measured figure beside the objective.',
    covers: againstObjectives,
  },
  {
    id: 'DORA Art. 11',
    framework: 'EU Digital Operational Resilience Act (Regulation 2022/2554)',
    title: 'Response and recovery',
    asks: 'A financial entity has ICT response and recovery plans and tests them, at least once a year and after substantial changes to the systems behind critical or important functions.',
    shows: 'Each drill tests one recovery plan: the incident, the recovery as a responder would run it (the runbook of each passing drill), and the outcome. The dates show how often it was tested.',
    covers: recovered,
  },
  {
    id: 'DORA Art. 12',
    framework: 'EU Digital Operational Resilience Act (Regulation 2022/2554)',
    title: 'Backup, restoration and recovery procedures',
    asks: 'Backup, restoration and recovery procedures are documented and tested periodically, and recovered data is checked for integrity.',
    shows: 'Drills that restored a backup into a fresh instance and checked the result against the source and with the scenario\'s checks; the runbook of each passing drill is the procedure as it ran.',
    covers: restoredBackup,
  },
  {
    id: 'HIPAA 164.308(a)(7)(ii)(D)',
    framework: 'HIPAA Security Rule, contingency plan',
    title: 'Testing and revision procedures (addressable)',
    asks: 'Contingency plans are tested from time to time, and revised from what the tests show.',
    shows: 'Each drill tests a contingency procedure and says what failed, in its report, for the revision; the dates show how often it was tested.',
    covers: recovered,
  },
];

/** The drills in the bundle that evidence a control, as given (oldest first when given so). */
export function evidenceFor<T extends { journal: Journal }>(control: Control, drills: readonly T[]): T[] {
  return drills.filter((drill) => control.covers(drill.journal));
}
