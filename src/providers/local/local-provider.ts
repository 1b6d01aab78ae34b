import type { DatabaseInstance, InstanceSpec, Provider, ProviderContext } from '../provider.js';
import { LocalMariadbInstance } from './local-mariadb.js';
import { LocalPostgresInstance } from './local-postgres.js';

type LocalFactory = (spec: InstanceSpec, context: ProviderContext) => Promise<DatabaseInstance>;

/** One factory per engine: the binaries on this machine. */
const factories: Partial<Record<string, LocalFactory>> = {
  postgres: (spec, context) => LocalPostgresInstance.create(spec, context),
  mariadb: (spec, context) => LocalMariadbInstance.create(spec, context),
};

/** The embedded default: database servers from the binaries installed on this machine. */
export const localProvider: Provider = {
  name: 'local',
  async create(spec, context) {
    const factory = factories[spec.engine.name];
    if (!factory) throw new Error(`the local provider cannot run ${spec.engine.displayName} yet`);
    return factory(spec, context);
  },
};
