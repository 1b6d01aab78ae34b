import type { Engine } from './engine.js';
import { mariadb } from './mariadb.js';
import { postgres } from './postgres.js';

/** Engine registry: the scenario's `target.engine` names one of these. */
export const engines = {
  postgres,
  mariadb,
} satisfies Record<string, Engine>;

export type { Engine };
