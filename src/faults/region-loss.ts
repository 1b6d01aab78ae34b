import { z } from 'zod';
import { defineFault } from './fault.js';
import { destroyDataDirectory, pointThenBlow } from './physical.js';

export const regionLoss = defineFault({
  kind: 'region-loss',
  summary: 'A whole region lost: the source, every standby and every storage location in its region destroyed; only what runs or is kept elsewhere remains',
  role: 'incident',
  logical: false,
  defaultTarget: 'latest',
  leaves: 'gone',
  params: z.strictObject({
    region: z.string().optional().describe('The region lost (default: the source\'s)'),
  }),
  refuse(drill, params) {
    const region = params.region ?? drill.region;
    if (region !== drill.region) return `region-loss of "${region}" does not take the source (it runs in "${drill.region}"); name the source's region or leave region out`;
    return undefined;
  },
  async inject(context, params) {
    const region = params.region ?? context.region;
    const standbys = context.beside.filter((server) => server.region === region).map((server) => server.instance);
    // The region goes at once: its servers die in the same instant as the source.
    const { point } = await pointThenBlow(context, () => Promise.all([context.source, ...standbys].map((instance) => destroyDataDirectory(instance))));
    const lost = [...context.storage.values()].filter((location) => location.region === region);
    for (const location of lost) await location.destroy();
    const destroyed = ['the source', ...standbys.map((instance) => `the ${instance.name}`), ...lost.map((location) => `storage "${location.name}"`)];
    const listed = destroyed.length === 1 ? destroyed[0]! : `${destroyed.slice(0, -1).join(', ')} and ${destroyed.at(-1)}`;
    return {
      description: `region "${region}" lost: ${listed} destroyed${lost.length === 0 ? ' (no storage location was in it)' : ''}`,
      point,
      source: { state: 'gone' },
      destroyedLocations: lost.map((location) => location.name),
    };
  },
});
