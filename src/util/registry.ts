import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * What cleanup needs to find and remove a resource without the process that made it: a
 * process (pid and its start time, so a reused pid is never killed), a path, a container.
 */
export type ResourceHandle =
  | { type: 'process'; pid: number; startTime?: string }
  | { type: 'path'; path: string }
  /** A directory handed to people, and any process they started that names it. */
  | { type: 'scratch'; path: string }
  | { type: 'container'; provider: string; id: string }
  | { type: 'network'; provider: string; id: string }
  | { type: 'object-prefix'; storage: string; location: string; address: string; root: string; options: Record<string, unknown> }
  | { type: 'none' };

export interface RegisteredResource {
  id: number;
  kind: string;
  where: string;
  handle: ResourceHandle;
}

type Line =
  | { type: 'run'; runId: string; pid: number; startTime?: string; startedAt: string; cwd: string; argv: string[] }
  | ({ type: 'add' } & RegisteredResource)
  | { type: 'release'; id: number }
  | { type: 'journal'; path: string };

/** `$FIREDRILL_STATE_DIR`, or the user's state directory: where runs record what they created. */
export function stateDir(): string {
  return process.env.FIREDRILL_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'firedrill');
}

/** The start time of a process (Linux: clock ticks since boot), to tell it from a later process with the same pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) can hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is this the process that was recorded (same pid, same start time), and is it still running? */
export function sameProcessAlive(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const now = processStartTime(pid);
  if (startTime === undefined || now === undefined) return true;
  if (now !== startTime) return false;
  // A zombie (killed, not yet reaped) holds its pid but is gone.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The run registry: one append-only file per running firedrill process under
 * `<state>/runs/`, a line per resource as it is created and as it is released. Written
 * synchronously, because a `kill -9` can come between any two lines and whatever was created
 * must already be on disk. A clean exit removes the file; the files of dead processes are the
 * leftovers `firedrill doctor` lists and `firedrill cleanup` removes.
 */
export class RunRegistry {
  private nextId = 1;
  readonly file: string;

  constructor(readonly runId: string) {
    const dir = join(stateDir(), 'runs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, `${runId}-${process.pid}.jsonl`);
    this.write({ type: 'run', runId, pid: process.pid, startTime: processStartTime(process.pid), startedAt: new Date().toISOString(), cwd: process.cwd(), argv: process.argv.slice(1) });
  }

  private write(line: Line): void {
    appendFileSync(this.file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }

  add(kind: string, where: string, handle: ResourceHandle): number {
    const id = this.nextId++;
    this.write({ type: 'add', id, kind, where, handle });
    return id;
  }

  release(id: number): void {
    this.write({ type: 'release', id });
  }

  /** Where the journal of a drill of this run will be, so cleanup can mark it when the run died. */
  journal(path: string): void {
    this.write({ type: 'journal', path });
  }

  /** The run ended and released what it could: the file goes; what is still registered stays on record as leftovers. */
  close(leftovers: number): void {
    if (leftovers === 0) rmSync(this.file, { force: true });
  }
}

/** A registry file of a run, as read back. */
export interface RecordedRun {
  file: string;
  runId: string;
  pid: number;
  startedAt: string;
  argv: string[];
  /** The firedrill process is still running (then its resources are not leftovers). */
  alive: boolean;
  resources: RegisteredResource[];
  journals: string[];
}

/** Reads one registry file; lines cut short by a crash are skipped. */
export async function readRun(file: string): Promise<RecordedRun | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  let head: Extract<Line, { type: 'run' }> | undefined;
  const resources = new Map<number, RegisteredResource>();
  const journals: string[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue;
    }
    if (line.type === 'run') head = line;
    else if (line.type === 'add') resources.set(line.id, { id: line.id, kind: line.kind, where: line.where, handle: line.handle });
    else if (line.type === 'release') resources.delete(line.id);
    else if (line.type === 'journal') journals.push(line.path);
  }
  if (!head) return undefined;
  return {
    file,
    runId: head.runId,
    pid: head.pid,
    startedAt: head.startedAt,
    argv: head.argv,
    alive: sameProcessAlive(head.pid, head.startTime),
    resources: [...resources.values()],
    journals,
  };
}

/** Every recorded run on this machine (for this user's state directory). */
export async function recordedRuns(): Promise<RecordedRun[]> {
  const dir = join(stateDir(), 'runs');
  const names = await readdir(dir).catch(() => [] as string[]);
  const runs = await Promise.all(names.filter((name) => name.endsWith('.jsonl')).map((name) => readRun(join(dir, name))));
  return runs.filter((run): run is RecordedRun => run !== undefined).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** Removes a dead run's registry file once its leftovers are gone. */
export async function forgetRun(run: RecordedRun): Promise<void> {
  await rm(run.file, { force: true });
}
