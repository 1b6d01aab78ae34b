import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import { findMariadbBinaries, type MariadbBinaries } from '../../engines/mariadb-binaries.js';
import { makeOwnedDir, serviceUser, type ServiceUser } from '../../util/os-user.js';
import type { DatabaseInstance, InstanceSpec, ProviderContext, StartedDatabaseInstance } from '../provider.js';
import { launchServer, startOnFreePort } from './local-server.js';

/**
 * A throwaway MariaDB server from the binaries on this machine: its own directory, a free port
 * on 127.0.0.1, its socket and pid file beside the data. `--no-defaults` always: /etc/mysql (a
 * system server's config) must never leak into a drill. Run as the `mysql` user when root (the
 * process is spawned with that uid, so every path it writes must be mysql's).
 */
export class LocalMariadbInstance implements DatabaseInstance {
  readonly engine: Engine;
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;
  private readonly settings: Record<string, string>;
  private readonly tmpDir: string;

  private constructor(
    spec: InstanceSpec,
    private readonly context: ProviderContext,
    private readonly binaries: MariadbBinaries,
    private readonly root: string,
  ) {
    this.engine = spec.engine;
    this.name = spec.name;
    this.dataDir = join(root, 'data');
    this.logFile = join(root, 'server.log');
    this.tmpDir = join(root, 'tmp');
    this.user = serviceUser('mysql');
    this.settings = spec.settings ?? {};
  }

  static async create(spec: InstanceSpec, context: ProviderContext): Promise<LocalMariadbInstance> {
    const binaries = await findMariadbBinaries(spec.version);
    const root = join(context.workDir, spec.name);
    await makeOwnedDir(root, serviceUser('mysql'));
    context.resources.add('directory', root, () => rm(root, { recursive: true, force: true }));
    const instance = new LocalMariadbInstance(spec, context, binaries, root);
    await makeOwnedDir(instance.tmpDir, instance.user);
    context.keepLog(spec.name, instance.logFile);
    return instance;
  }

  async initialize(): Promise<void> {
    // normal root authentication: root@127.0.0.1 without a password, as drills connect over TCP.
    await this.context.exec.run(
      this.binaries.paths['mariadb-install-db'],
      ['--no-defaults', `--datadir=${this.dataDir}`, `--tmpdir=${this.tmpDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
      { user: this.user },
    );
  }

  async start(options: { settings?: Record<string, string> } = {}): Promise<StartedDatabaseInstance> {
    return startOnFreePort(this.logFile, (port) => this.startOn(port, options.settings ?? {}));
  }

  private async startOn(port: number, extra: Record<string, string>): Promise<StartedDatabaseInstance> {
    const settings: Record<string, string> = {
      datadir: this.dataDir,
      port: String(port),
      'bind-address': '127.0.0.1',
      socket: join(this.root, 'mysqld.sock'),
      'pid-file': join(this.root, 'mysqld.pid'),
      // A starting server deletes every #sql* file in its tmpdir, other servers' temporary
      // tables included: of five bootstraps sharing /tmp here, two failed ("Unknown table
      // 'mysql.tmp_user_sys'"). Each instance gets its own.
      tmpdir: this.tmpDir,
      // Without it every TCP connection waits for a reverse DNS lookup of 127.0.0.1.
      'skip-name-resolve': 'ON',
      'character-set-server': 'utf8mb4',
      ...this.settings,
      ...extra,
    };
    // No --log-error: errors go to stderr, which is the instance's log file.
    const args = ['--no-defaults', ...Object.entries(settings).map(([key, value]) => `--${key}=${value}`)];
    const connection: ConnectionInfo = { host: '127.0.0.1', port, user: 'root', database: 'mysql' };
    return launchServer(this, this.context, { file: this.binaries.paths.mariadbd, args, connection, stopSignal: 'SIGTERM' });
  }
}
