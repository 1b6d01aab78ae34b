import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mariadb } from '../../src/engines/mariadb.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import { BINLOG_SETTINGS } from '../../src/strategies/mariadb-tools.js';
import type { StartedDatabaseInstance } from '../../src/providers/provider.js';
import { leftovers } from '../support/drills.js';
import { providerContext } from '../support/providers.js';

async function query(instance: StartedDatabaseInstance, sql: string): Promise<Record<string, string>> {
  const session = await mariadb.connect(instance.connection);
  try {
    return (await session.query<Record<string, string>>(sql))[0]!;
  } finally {
    await session.close();
  }
}

const owner = (pid: number) => execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim();

describe('local MariaDB instances (real servers)', () => {
  // How fast (≤ 1.5 s from nothing to a first answered query) is a figure of `npm run bench`,
  // measured on a quiet machine; asserted here it would fail whenever something else runs.
  it('a throwaway server answers on loopback, as mysql, with the settings asked for and none from /etc/mysql', async () => {
    const context = await providerContext('firedrill-it-mariadb-');
    const instance = await localProvider.create({ name: 'source', engine: mariadb, settings: BINLOG_SETTINGS }, context);
    await instance.initialize();
    const server = await instance.start();
    expect(server.readiness.pollIntervalMs).toBeGreaterThan(0);
    const settings = await query(server, 'SELECT @@bind_address AS bind, @@datadir AS datadir, @@port AS port, @@log_bin AS log_bin, @@binlog_format AS format, @@expire_logs_days AS expire');
    expect(settings).toMatchObject({ bind: '127.0.0.1', datadir: `${instance.dataDir}/`, port: String(server.connection.port), log_bin: '1', format: 'ROW' });
    // Debian's /etc/mysql/mariadb.conf.d/50-server.cnf sets expire_logs_days = 10: --no-defaults keeps it out.
    expect(Number(settings.expire)).toBe(0);
    if (process.getuid?.() === 0) expect(owner(server.pid!)).toBe('mysql');
  });

  it('survives kill -9 (crash recovery on the next start), stops cleanly, and destroy leaves nothing behind', async () => {
    const context = await providerContext('firedrill-it-mariadb-');
    const instance = await localProvider.create({ name: 'crash', engine: mariadb }, context);
    await instance.initialize();
    const first = await instance.start();
    const session = await mariadb.connect(first.connection);
    await session.query('CREATE DATABASE kept; CREATE TABLE kept.t (id int PRIMARY KEY) ENGINE=InnoDB; INSERT INTO kept.t VALUES (1), (2), (3)');
    await session.close();
    await first.kill();
    expect(() => process.kill(first.pid!, 0)).toThrow();

    const second = await instance.start();
    expect(await query(second, 'SELECT COUNT(*) AS n FROM kept.t')).toEqual({ n: '3' });
    await second.stop();
    expect(() => process.kill(second.pid!, 0)).toThrow();

    const third = await instance.start();
    await third.destroy();
    await context.resources[Symbol.asyncDispose]();
    expect(await leftovers(context.workDir)).toEqual({ entries: [], processes: [] });
  });

  // Sharing /tmp, concurrent bootstraps deleted each other's temporary tables (2 of 5 failed).
  it('four instances initialized and started at once get their own ports, data and temp dirs', async () => {
    const context = await providerContext('firedrill-it-mariadb-');
    const servers = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (name) => {
        const instance = await localProvider.create({ name, engine: mariadb }, context);
        await instance.initialize();
        return instance.start();
      }),
    );
    expect(new Set(servers.map((server) => server.connection.port)).size).toBe(4);
    for (const server of servers) {
      const dirs = await query(server, 'SELECT @@datadir AS data, @@tmpdir AS tmp');
      expect(dirs).toEqual({ data: `${server.dataDir}/`, tmp: join(server.dataDir, '..', 'tmp') });
    }
  });
});
