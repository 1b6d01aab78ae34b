import { z } from 'zod';
import { defineFault } from './fault.js';
import { destroyDataDirectory, pointThenBlow } from './physical.js';

export const regionLoss = defineFault({
  kind: 'region-loss',
  summary: 'A whole region lost: the source and every storage location in its region destroyed; only off-site copies remain',
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
    const { point } = await pointThenBlow(context, () => destroyDataDirectory(context));
    const lost = [...context.storage.values()].filter((location) => location.region === region);
    for (const location of lost) await location.destroy();
    return {
      description: `region "${region}" lost: the source and ${lost.length === 0 ? 'no storage location' : `storage ${lost.map((location) => `"${location.name}"`).join(', ')}`} destroyed`,
      point,
      source: { state: 'gone' },
      destroyedLocations: lost.map((location) => location.name),
    };
  },
});
