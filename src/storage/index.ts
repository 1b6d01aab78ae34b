import type { z } from 'zod';
import { EncryptedStorage } from './encrypted.js';
import { localStorage } from './local-directory.js';
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
