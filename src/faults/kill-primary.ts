import { z } from 'zod';
import { defineFault } from './fault.js';
import { pointThenBlow } from './physical.js';

export const killPrimary = defineFault({
  kind: 'kill-primary',
  summary: 'SIGKILL of every server process under load; recovery is crash recovery on restart (or a failover, with a standby)',
  role: 'incident',
  logical: false,
  defaultTarget: 'latest',
  leaves: 'stopped',
  params: z.strictObject({}),
  async inject(context) {
    const { point, result: stopped } = await pointThenBlow(context, () => context.source.kill());
    return { description: 'SIGKILL of every process of the server under load', point, source: { state: 'stopped', instance: stopped } };
  },
});
