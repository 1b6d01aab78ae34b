import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import { findPostgresBinaries, type PostgresBinaries } from '../../engines/postgres-binaries.js';
import { makeOwnedDir, serviceUser, type ServiceUser } from '../../util/os-user.js';
import type { DatabaseInstance, InstanceSpec, ProviderContext, StartedDatabaseInstance } from '../provider.js';
import { initializeFromTemplate } from './cluster-template.js';
import { launchServer, startOnFreePort } from './local-server.js';

/**
 * A throwaway PostgreSQL cluster from the binaries on this machine: its own directory, a free
 * port on 127.0.0.1, its socket in its own directory, data checksums on.
 */
export class LocalPostgresInstance implements DatabaseInstance {
  readonly engine: Engine;
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;

  private constructor(
    spec: InstanceSpec,
    private readonly context: ProviderContext,
    private readonly binaries: PostgresBinaries,
    root: string,
  ) {
    this.engine = spec.engine;
    this.name = spec.name;
    this.dataDir = join(root, 'data');
    this.logFile = join(root, 'server.log');
    this.user = serviceUser('postgres');
    this.settings = spec.settings ?? {};
  }

  private readonly settings: Record<string, string>;

  static async create(spec: InstanceSpec, context: ProviderContext): Promise<LocalPostgresInstance> {
    const binaries = await findPostgresBinaries(spec.version);
    const root = join(context.workDir, spec.name);
    const user = serviceUser('postgres');
    await makeOwnedDir(root, user);
    context.resources.add('directory', root, () => rm(root, { recursive: true, force: true }));
    const instance = new LocalPostgresInstance(spec, context, binaries, root);
    context.keepLog(spec.name, instance.logFile);
    return instance;
  }

  async initialize(): Promise<void> {
    const initdb = join(this.binaries.bindir, 'initdb');
    const args = ['-A', 'trust', '-U', 'postgres', '--no-sync', '--data-checksums', '--encoding=UTF8', '--locale=C'];
    await initializeFromTemplate({
      key: ['postgres', initdb, this.binaries.major, ...args].join(' '),
      dataDir: this.dataDir,
      scratchDir: dirname(this.dataDir),
      exec: this.context.exec,
      initialize: async (dir) => {
        await this.context.exec.run(initdb, ['-D', dir, ...args], { user: this.user });
      },
    });
  }

  async start(options: { settings?: Record<string, string> } = {}): Promise<StartedDatabaseInstance> {
    return startOnFreePort(this.logFile, (port) => this.startOn(port, options.settings ?? {}));
  }

  private async startOn(port: number, extra: Record<string, string>): Promise<StartedDatabaseInstance> {
    const settings: Record<string, string> = {
      port: String(port),
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.dataDir,
      max_connections: '100',
      max_wal_senders: '10',
      wal_level: 'replica',
      logging_collector: 'off',
      log_line_prefix: '%m [%p] ',
      ...this.settings,
      ...extra,
    };
    const args = ['-D', this.dataDir, ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])];
    const connection: ConnectionInfo = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
    // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit. After a kill -9
    // the backends notice the postmaster is gone within a moment and exit on their own.
    return launchServer(this, this.context, { file: join(this.binaries.bindir, 'postgres'), args, connection, stopSignal: 'SIGINT' });
  }
}
