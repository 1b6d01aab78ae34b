import { z } from 'zod';
import { duration } from '../util/duration.js';
import { encryptionOptions } from './encrypted.js';
import type { StorageLocation } from './storage.js';

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
  encryption: encryptionOptions.optional(),
  spool: z
    .strictObject({
      every: duration.prefault('1s').describe('How often the uploader sends what the server archived into the spool on to this location (a duration)'),
    })
    .prefault({})
    .describe('When the server\'s own archiving (WAL, binlogs) cannot write into this location (an object store, an encrypted location), it writes into a spool on the source\'s host and an uploader drains that here; what the spool still holds when the source\'s region is lost is lost: that lag is part of the RPO'),
};

export interface StorageCreateContext {
  /** The drill's temp directory, the default home of firedrill-owned locations. */
  workDir: string;
  /** The drill's id: each drill writes below a directory or prefix of its own, removed afterwards. */
  drillId: string;
}

export interface StorageDefinition<Options extends z.ZodObject> {
  summary: string;
  options: Options;
  /**
   * Can a server's own archiving (archive_command, a binlog streamer) write its files straight
   * into a location so configured? Only a directory on this machine, stored as written, can.
   */
  serverWrites(options: z.infer<Options>): boolean;
  create(name: string, options: z.infer<Options>, context: StorageCreateContext): StorageLocation;
  /** The location a dead run wrote to, from what it recorded (`root`), so cleanup can remove it. */
  reopen(name: string, options: z.infer<Options>, root: string): StorageLocation;
}

export function defineStorage<Options extends z.ZodObject>(definition: StorageDefinition<Options>): StorageDefinition<Options> {
  return definition;
}
