import { execFileSync } from 'node:child_process';
import { access, readdir, rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { postgres } from '../../src/engines/postgres.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { StartedDatabaseInstance } from '../../src/providers/provider.js';
import { makeRunTempDir } from '../../src/util/os-user.js';
import { leftovers } from '../support/drills.js';
import { providerContext } from '../support/providers.js';

async function value(instance: StartedDatabaseInstance, sql: string): Promise<unknown> {
  const session = await postgres.connect(instance.connection);
  try {
    return Object.values((await session.query<Record<string, unknown>>(sql))[0]!)[0];
  } finally {
    await session.close();
  }
}

const owner = (pid: number) => execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim();

describe('local PostgreSQL instances (real servers)', () => {
  it('a throwaway cluster listens on loopback only, with data checksums, as the postgres user', async () => {
    const context = await providerContext('firedrill-it-postgres-');
    const instance = await localProvider.create({ name: 'source', engine: postgres, settings: { archive_mode: 'on', archive_command: '/bin/true' } }, context);
    await instance.initialize();
    const server = await instance.start();
    expect(server.connection.host).toBe('127.0.0.1');
    expect(await value(server, 'SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await value(server, 'SHOW data_checksums')).toBe('on');
    expect(await value(server, 'SHOW archive_mode')).toBe('on');
    expect(await value(server, 'SHOW unix_socket_directories')).toBe(instance.dataDir);
    expect(server.readiness.pollIntervalMs).toBeGreaterThan(0);
    if (process.getuid?.() === 0) expect(owner(server.pid!)).toBe('postgres');
  });

  it('survives kill -9 with crash recovery, stops cleanly, and destroy removes the data directory', async () => {
    const context = await providerContext('firedrill-it-postgres-');
    const instance = await localProvider.create({ name: 'crash', engine: postgres }, context);
    await instance.initialize();
    const first = await instance.start();
    const session = await postgres.connect(first.connection);
    await session.query('CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1), (2), (3)');
    await session.close();
    await first.kill();
    expect(() => process.kill(first.pid!, 0)).toThrow();

    const second = await instance.start();
    expect(await value(second, 'SELECT count(*)::int FROM kept')).toBe(3);
    expect(await second.waitWritable()).toMatchObject({ pollIntervalMs: 25 });
    await second.destroy();
    expect(() => process.kill(second.pid!, 0)).toThrow();
    await expect(access(instance.dataDir)).rejects.toThrow();
    await context.resources[Symbol.asyncDispose]();
    expect(await leftovers(context.workDir)).toEqual({ entries: [], processes: [] });
  });

  it('several clusters run at once on their own ports and directories', async () => {
    const context = await providerContext('firedrill-it-postgres-');
    const servers = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const instance = await localProvider.create({ name, engine: postgres }, context);
        await instance.initialize();
        return instance.start();
      }),
    );
    expect(new Set(servers.map((server) => server.connection.port)).size).toBe(3);
    expect(new Set(servers.map((server) => server.dataDir)).size).toBe(3);
    for (const server of servers) expect(await value(server, 'SELECT 1')).toBe(1);
  });

  it('the first cluster of a version is initialized once into the template cache; later ones are copies', async () => {
    const cache = await makeRunTempDir('firedrill-it-cache-');
    const previous = process.env.FIREDRILL_CACHE_DIR;
    process.env.FIREDRILL_CACHE_DIR = cache;
    onTestFinished(async () => {
      if (previous === undefined) delete process.env.FIREDRILL_CACHE_DIR;
      else process.env.FIREDRILL_CACHE_DIR = previous;
      await rm(cache, { recursive: true, force: true });
    });
    const context = await providerContext('firedrill-it-postgres-');
    for (const name of ['first', 'second']) {
      const instance = await localProvider.create({ name, engine: postgres }, context);
      await instance.initialize();
      const server = await instance.start();
      expect(await value(server, 'SHOW data_checksums')).toBe('on');
    }
    const commands = context.exec.records.map((record) => record.command);
    expect(commands.filter((command) => command.includes('/initdb '))).toHaveLength(1);
    expect(commands.filter((command) => command.startsWith(`cp -a ${cache}/`))).toHaveLength(2);
    expect(await readdir(cache)).toHaveLength(1);
  });

  it('a server that cannot start fails with its log, and nothing of it keeps running', async () => {
    const context = await providerContext('firedrill-it-postgres-');
    const instance = await localProvider.create({ name: 'broken', engine: postgres, settings: { shared_buffers: 'nonsense' } }, context);
    await instance.initialize();
    await expect(instance.start()).rejects.toThrow(/shared_buffers/);
    await context.resources[Symbol.asyncDispose]();
    expect((await leftovers(context.workDir)).processes).toEqual([]);
  });
});
