import type { GamedayCommand, GamedayMark, GamedayRunbookStep, Journal } from '../journal/types.js';

/** When the team first marked `label` (in any case) after the fault; a mark before it is not that moment. */
export function markedAt(marks: readonly GamedayMark[], label: string, faultAtMs: number): number | undefined {
  return marks.find((mark) => mark.label.toLowerCase() === label && mark.atMs >= faultAtMs)?.atMs;
}

/** The procedure of the newest passing drill of a scenario: what the team had to follow. */
export interface TestedRunbook {
  /** The reports folder's path to the journal it comes from. */
  from: string;
  /** When that drill ran. */
  drillAt: string;
  /** Its RTO (service): what the procedure took there. */
  rtoServiceMs: number | null;
  /** Its restore path, with `${NAME}` parameters, and how long each step took there. */
  steps: Array<{ command: string; phase: string; drillMs: number }>;
  /** What each parameter meant, and its value in that drill. */
  parameters: Array<{ name: string; meaning: string; value: string }>;
}

/** A runbook step as a pattern: each `${NAME}` stands for any value, runs of spaces are one, an account switch is optional. */
function stepPattern(command: string): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  const bare = command.replace(/^runuser -u \S+ -- /, '');
  // The program as the drill ran it (`/usr/lib/postgresql/15/bin/pg_restore`), or by its name on the team's PATH.
  const [, program = '', rest = ''] = /^(\S+)(.*)$/s.exec(bare) ?? [];
  const name = program.slice(program.lastIndexOf('/') + 1);
  const head = program.includes('/') && !program.includes('${') ? `(?:\\S*/)?${escape(name)}` : escape(program);
  const body = rest
    .split(/(\$\{[A-Z0-9_]+\})/)
    .map((part) => (/^\$\{[A-Z0-9_]+\}$/.test(part) ? '\\S+?' : escape(part)))
    .join('');
  return new RegExp(`^(?:(?:sudo|runuser)\\s+(?:-u\\s+\\S+\\s+)?(?:--\\s+)?)?${head}${body}$`);
}

/**
 * Which runbook step each of the team's commands was: the one it names (`--step N`), or the
 * first whose shape it has with the team's own values in the parameters. A step is `ran` when
 * a command run as it succeeded, `failed` when every one failed — a stale runbook shows as
 * the step that did not work — and `not-run` when none was.
 */
export function scoreRunbook(steps: readonly TestedRunbook['steps'][number][], commands: readonly GamedayCommand[]): { steps: GamedayRunbookStep[]; commands: GamedayCommand[] } {
  const patterns = steps.map((step) => stepPattern(step.command));
  const scored = commands.map((command) => {
    if (command.step !== undefined) return command;
    const index = patterns.findIndex((pattern) => pattern.test(command.command.trim()));
    return index < 0 ? command : { ...command, step: index + 1 };
  });
  return {
    commands: scored,
    steps: steps.map((step, index) => {
      const runs = scored.filter((command) => command.step === index + 1);
      const outcome = runs.length === 0 ? 'not-run' : runs.some((command) => command.exitCode === 0) ? 'ran' : 'failed';
      return { command: step.command, phase: step.phase, drillMs: step.drillMs, outcome };
    }),
  };
}

/** One moment of the human timeline, from the fault. */
export interface HumanMoment {
  label: string;
  atMs: number | null;
  /** From the fault; null when it never happened. */
  sinceFaultMs: number | null;
}

/**
 * The team's recovery as moments from the fault: when they noticed, decided, ran their first
 * command, had service back (the first write the restored database acknowledged) and had it
 * verified. A moment they never marked is shown as missing, not guessed.
 */
export function humanTimeline(journal: Journal): HumanMoment[] {
  const gameday = journal.gameday;
  const faultAt = journal.fault?.atMs;
  if (!gameday || faultAt === undefined) return [];
  const marked = (label: string) => markedAt(gameday.marks, label, faultAt) ?? null;
  const event = (name: string) => journal.events.find((candidate) => candidate.name === name)?.atMs ?? null;
  const firstCommand = gameday.commands.find((command) => command.startedAtMs >= faultAt)?.startedAtMs ?? null;
  const moments: Array<[string, number | null]> = [
    ['detected', marked('detected')],
    ['decided to restore', marked('decided to restore')],
    ['first command', firstCommand],
    ['restore started', marked('restore started')],
    ['declared restored', gameday.restored?.declaredAtMs ?? null],
    ['service back (first write acknowledged)', event('service-restored')],
    ['verified', event('verified')],
  ];
  return moments.map(([label, atMs]) => ({ label, atMs, sinceFaultMs: atMs === null ? null : atMs - faultAt }));
}
