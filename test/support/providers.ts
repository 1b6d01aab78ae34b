import { rm } from 'node:fs/promises';
import pino from 'pino';
import { onTestFinished } from 'vitest';
import type { ProviderContext } from '../../src/providers/provider.js';
import { CommandRunner } from '../../src/util/exec.js';
import { makeRunTempDir } from '../../src/util/os-user.js';
import { ResourceStack } from '../../src/util/resources.js';

/** What a provider needs, in a temp dir of the test's own; released and removed when the test ends. */
export async function providerContext(prefix: string): Promise<ProviderContext & { resources: ResourceStack; logs: Map<string, string> }> {
  const workDir = await makeRunTempDir(prefix);
  const resources = new ResourceStack();
  const logs = new Map<string, string>();
  onTestFinished(async () => {
    await resources[Symbol.asyncDispose]();
    await rm(workDir, { recursive: true, force: true });
  });
  return {
    exec: new CommandRunner({ now: () => performance.now() }),
    resources,
    workDir,
    log: pino({ level: 'silent' }),
    runId: `test-${process.pid}`,
    saveLog: (name, text) => logs.set(name, text),
    logs,
  };
}
