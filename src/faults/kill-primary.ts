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
    const durability = await context.engine.durability(context.session);
    const { point, result: stopped } = await pointThenBlow(context, () => context.source.kill());
    return {
      description: 'SIGKILL of every process of the server under load',
      point,
      source: { state: 'stopped', instance: stopped },
      notes: [
        durability.note,
        'This is a crash of the server\'s processes, not of the machine: what the server had handed to the OS survives it. A power loss would also lose what was written but not yet flushed.',
      ],
    };
  },
});
