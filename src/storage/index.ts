import type { z } from 'zod';
import { EncryptedStorage } from './encrypted.js';
import { join } from 'node:path';
import { LocalDirectoryStorage, localStorage } from './local-directory.js';
import { s3Storage } from './s3.js';

import type { StorageLocation } from './storage.js';
import type { StorageCreateContext } from './types.js';

export { HOME_REGION, locationBase, type StorageCreateContext } from './types.js';

/** Storage types: the scenario's `storage.<name>.type` names one of these. */
export const storageTypes = {
  local: localStorage,
  s3: s3Storage,
};

export type StorageType = keyof typeof storageTypes;

/** A storage location as a scenario gives it, whatever its type. */
export type LocationOptions = z.output<(typeof storageTypes)[StorageType]['options']>;

/** The location a scenario describes, encrypted when it asks to be. */
export function createLocation(name: string, options: LocationOptions, context: StorageCreateContext): StorageLocation {
  const location = storageTypes[options.type].create(name, options as never, context);
  return options.encryption ? new EncryptedStorage(location, options.encryption) : location;
}

/** Whether a server's own archiving can write its files straight into the location: encrypted objects are not what it wrote. */
export const serverWrites = (options: LocationOptions) => !options.encryption && storageTypes[options.type].serverWrites(options as never);

/** The spool's name among a drill's locations; the loader keeps scenarios from taking it. */
export const SPOOL = 'spool';

/**
 * Where the server's own archiving writes when primary cannot take its files (see
 * `serverWrites`): a directory on the source's host, in its region, that an uploader drains
 * into primary — the asynchronous archiving of wal-g and pgBackRest. A segment is archived for
 * the server once it is in the spool; a region loss takes what was not yet uploaded.
 */
export const createSpool = (region: string, context: StorageCreateContext): StorageLocation => new LocalDirectoryStorage(SPOOL, join(context.workDir, SPOOL), region);
