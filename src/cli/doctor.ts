import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { engines } from '../engines/index.js';
import { providers } from '../providers/index.js';
import { strategies } from '../strategies/index.js';
import type { StrategyDefinition } from '../strategies/strategy.js';

const run = promisify(execFile);

export interface DoctorLine {
  what: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

async function versionOf(command: string, args = ['--version']): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(command, args);
    return (stdout || stderr).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

export interface DoctorReport {
  lines: DoctorLine[];
  /** Engines a drill can run here, and on which provider (`postgres (local)`). */
  usable: string[];
}

/** What this machine can drill: engines, their tools and versions, on which providers, and what to install. */
export async function doctor(): Promise<DoctorReport> {
  const lines: DoctorLine[] = [];
  const usable: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  lines.push({ what: 'node', ok: major >= 20, detail: process.version, ...(major >= 20 ? {} : { fix: 'install Node.js 20 or newer' }) });
  for (const engine of Object.values(engines)) {
    const installation = await engine.installation().catch((error: unknown) => error as Error);
    if (installation instanceof Error) {
      lines.push({ what: `${engine.name}`, ok: false, detail: installation.message, fix: engine.installHint });
      continue;
    }
    for (const name of engine.reportedTools) {
      const path = installation.program(name) ?? name;
      const version = await versionOf(path);
      lines.push({ what: `${engine.name}: ${name}`, ok: Boolean(version), detail: version ?? `not found (${path})`, ...(version ? {} : { fix: engine.installHint }) });
    }
  }
  for (const engine of Object.values(engines)) {
    for (const provider of Object.values(providers)) {
      const available = await provider.available(engine, undefined);
      if (available.ok) usable.push(`${engine.name} (${provider.name})`);
      else if (provider.name !== 'local') lines.push({ what: `${engine.name} on ${provider.name}`, ok: false, detail: available.reason, fix: available.hint });
    }
  }
  for (const strategy of Object.values(strategies) as StrategyDefinition[]) {
    for (const tool of strategy.tools ?? []) {
      const version = await versionOf(tool.program, tool.versionArgs);
      lines.push({ what: `${strategy.name}: ${tool.program}`, ok: Boolean(version), detail: version ?? 'not found', ...(version ? {} : { fix: tool.install }) });
    }
  }
  const tar = await versionOf('tar');
  lines.push({ what: 'tar', ok: Boolean(tar), detail: tar ?? 'not found', ...(tar ? {} : { fix: 'apt-get install -y tar' }) });
  if (process.getuid?.() === 0) lines.push({ what: 'running as root', ok: true, detail: 'servers and their tools run as their service users (postgres, mysql)' });
  return { lines, usable };
}
