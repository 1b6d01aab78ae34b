import { join } from 'node:path';
import { z } from 'zod';
import { LocalDirectoryStorage } from './local-directory.js';
import type { StorageLocation } from './storage.js';

interface StorageDefinition<Options extends z.ZodObject> {
  summary: string;
  options: Options;
  /** `workDir` is the drill's temp directory, the default home of firedrill-owned locations. */
  create(name: string, options: z.infer<Options>, workDir: string): StorageLocation;
}

function defineStorage<Options extends z.ZodObject>(definition: StorageDefinition<Options>): StorageDefinition<Options> {
  return definition;
}

/** Storage types: the scenario's `storage.<name>.type` names one of these. */
export const storageTypes = {
  local: defineStorage({
    summary: 'a directory on this machine (default: inside the drill\'s temp dir, removed after the drill)',
    options: z.strictObject({
      type: z.literal('local'),
      path: z.string().optional().describe('Directory for backups; a subdirectory per drill is created and removed afterwards'),
    }),
    create: (name, options, workDir) => new LocalDirectoryStorage(name, options.path ? join(options.path, `${name}-${process.pid}-${Date.now()}`) : join(workDir, 'storage', name)),
  }),
};

export type StorageType = keyof typeof storageTypes;
