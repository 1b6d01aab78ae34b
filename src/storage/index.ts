import { join } from 'node:path';
import { z } from 'zod';
import { LocalDirectoryStorage } from './local-directory.js';
import type { StorageLocation } from './storage.js';
import { duration } from '../util/duration.js';

/** The region everything is in unless the scenario says otherwise: the source and its storage. */
export const HOME_REGION = 'home';

/** Fields every storage type has: where it is, and whether it is a copy of another location. */
export const locationBase = {
  region: z.string().regex(/^[\w-]+$/).default(HOME_REGION).describe('The region the location is in; a region-loss fault destroys every location of the source\'s region'),
  copy: z
    .strictObject({
      from: z.string().describe('The location to copy from (usually primary)'),
      every: duration.prefault('2s').describe('How often new objects are copied (a duration); the copy\'s lag is part of the RPO'),
    })
    .optional()
    .describe('Make this location an off-site copy of another: every backup and archived WAL/binlog is copied here'),
};

export interface StorageCreateContext {
  /** The drill's temp directory, the default home of firedrill-owned locations. */
  workDir: string;
  /** The drill's id: a location given by path gets a subdirectory of its own per drill. */
  drillId: string;
}

interface StorageDefinition<Options extends z.ZodObject> {
  summary: string;
  options: Options;
  create(name: string, options: z.infer<Options>, context: StorageCreateContext): StorageLocation;
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
      ...locationBase,
    }),
    create: (name, options, context) =>
      new LocalDirectoryStorage(name, options.path ? join(options.path, `${context.drillId}-${name}-${process.pid}-${Date.now()}`) : join(context.workDir, 'storage', name), options.region),
  }),
};

export type StorageType = keyof typeof storageTypes;

/** A storage location as a scenario gives it, whatever its type. */
export type LocationOptions = z.output<(typeof storageTypes)[StorageType]['options']>;
