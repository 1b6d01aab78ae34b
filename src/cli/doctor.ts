import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { engines } from '../engines/index.js';

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

/** What this machine can drill: engines, their tools and versions, and what to install. */
export async function doctor(): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  lines.push({ what: 'node', ok: major >= 20, detail: process.version, ...(major >= 20 ? {} : { fix: 'install Node.js 20 or newer' }) });
  for (const engine of Object.values(engines)) {
    for (const tool of await engine.tools()) {
      lines.push({
        what: `${engine.name}: ${tool.name}`,
        ok: !tool.missing,
        detail: tool.missing ?? tool.version ?? 'found',
        ...(tool.missing ? { fix: engine.installHint } : {}),
      });
    }
  }
  const tar = await versionOf('tar');
  lines.push({ what: 'tar', ok: Boolean(tar), detail: tar ?? 'not found', ...(tar ? {} : { fix: 'apt-get install -y tar' }) });
  if (process.getuid?.() === 0) lines.push({ what: 'running as root', ok: true, detail: 'servers and their tools run as their service users (postgres, mysql)' });
  return lines;
}
