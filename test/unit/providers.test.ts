import { describe, expect, it } from 'vitest';
import { postgres } from '../../src/engines/postgres.js';
import { resolveProvider } from '../../src/providers/index.js';
import type { Provider } from '../../src/providers/provider.js';

/** A provider that can or cannot run anything, to see which one `auto` picks (the choosing, not the running). */
const provider = (name: string, ok: boolean): Provider => ({
  name,
  runsImages: name === 'docker',
  available: async () => (ok ? { ok: true } : { ok: false, reason: `${name} cannot`, hint: `fix ${name}` }),
  create: () => Promise.reject(new Error('not used')),
});

describe('choosing a provider', () => {
  it('auto takes local binaries when they are there, else containers', async () => {
    expect((await resolveProvider({ name: 'auto', engine: postgres, version: '15' }, { local: provider('local', true), docker: provider('docker', true) })).name).toBe('local');
    expect((await resolveProvider({ name: 'auto', engine: postgres, version: '17' }, { local: provider('local', false), docker: provider('docker', true) })).name).toBe('docker');
  });

  it('says both ways to fix it when neither can run the engine', async () => {
    await expect(resolveProvider({ name: 'auto', engine: postgres, version: '17' }, { local: provider('local', false), docker: provider('docker', false) })).rejects.toMatchObject({
      message: 'no provider can run PostgreSQL 17 here (local: local cannot; docker: docker cannot)',
      hint: 'fix local; or fix docker',
    });
  });

  it('with an image named, auto takes a provider that runs images, and one that does not is refused with what to do', async () => {
    const both = { local: provider('local', true), docker: provider('docker', true) };
    expect((await resolveProvider({ name: 'auto', engine: postgres, image: 'postgres:16' }, both)).name).toBe('docker');
    await expect(resolveProvider({ name: 'local', engine: postgres, image: 'postgres:16' }, both)).rejects.toMatchObject({
      message: 'target.image postgres:16 needs a provider that runs container images, and provider "local" does not',
      hint: 'remove target.image, or use provider docker (or auto)',
    });
  });

  it('an explicit provider is used or refused, never replaced by another', async () => {
    await expect(resolveProvider({ name: 'docker', engine: postgres, version: undefined }, { local: provider('local', true), docker: provider('docker', false) })).rejects.toThrow(/docker: docker cannot/);
    await expect(resolveProvider({ name: 'kubernetes', engine: postgres, version: undefined }, { local: provider('local', true) })).rejects.toThrow('unknown provider "kubernetes"');
  });
});
