import type { Engine } from './engine.js';
import { postgres } from './postgres.js';

/** Engine registry: the scenario's `target.engine` names one of these. */
export const engines = {
  postgres,
} satisfies Record<string, Engine>;

export type { Engine };
