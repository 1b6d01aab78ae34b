import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SqlFilesDataset } from '../../src/datasets/sql-files.js';
import { FINGERPRINT_BATCH, type Engine, type SqlSession } from '../../src/engines/engine.js';
import { compareKeys, pairByKey } from '../../src/measure/damage.js';
import { mariadb } from '../../src/engines/mariadb.js';
import { postgres } from '../../src/engines/postgres.js';
import type { Provider, StartedInstance } from '../../src/providers/provider.js';
import { makeRunTempDir } from '../../src/util/os-user.js';
import { leftovers } from '../support/drills.js';
import { providerContext } from '../support/providers.js';
import { containersOf, providersUnderTest } from '../support/provider-matrix.js';

async function withSessionOf<T>(instance: StartedInstance, fn: (session: SqlSession) => Promise<T>, connection = instance.connection): Promise<T> {
  const session = await instance.engine.connect(connection);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

async function value(instance: StartedInstance, sql: string, database?: string): Promise<string> {
  const session = await instance.engine.connect(database ? { ...instance.connection, database } : instance.connection);
  try {
    return String(Object.values((await session.query<Record<string, unknown>>(sql))[0]!)[0]);
  } finally {
    await session.close();
  }
}

/** Tables to fingerprint: a text key over more than one batch (with keys whose UTF-16 and UTF-8 orders differ), a changed copy, a bag of rows without a key. */
interface KeyedTables {
  names: [string, string, string];
  sql: string[];
}
const KEYED_ROWS = FINGERPRINT_BATCH + 5000;
const ODD_KEYS = ['é', '😀', 'ﬀ', 'Z', 'q'];

/** Every key of a table's fingerprints, and how many batches they came in. */
async function fingerprintKeys(engine: Engine, session: SqlSession, table: string): Promise<{ keys: string[]; batches: number }> {
  const keys: string[] = [];
  let batches = 0;
  for await (const batch of engine.rowFingerprints(session, table)) {
    batches++;
    keys.push(...batch.map((row) => row.key));
  }
  return { keys, batches };
}

/** What each engine is asked to prove about itself, in its own SQL. */
const ENGINES: Array<{ engine: Engine; settings: Record<string, string>; setting: [string, string]; table: string; count: string; bad: Record<string, string>; badLog: RegExp; keyed: KeyedTables }> = [
  {
    engine: postgres,
    settings: { archive_mode: 'on', archive_command: '/bin/true' },
    setting: ['SHOW archive_mode', 'on'],
    table: 'CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1), (2), (3)',
    count: 'SELECT count(*) FROM kept',
    bad: { shared_buffers: 'nonsense' },
    badLog: /shared_buffers/,
    keyed: {
      names: ['fp_a', 'fp_b', 'fp_bag'],
      sql: [
        `CREATE TABLE fp_a (id text PRIMARY KEY, note text); INSERT INTO fp_a SELECT 'k' || lpad(g::text, 6, '0'), 'n' || g FROM generate_series(1, ${KEYED_ROWS}) g`,
        `INSERT INTO fp_a VALUES ${ODD_KEYS.map((key) => `('${key}', 'odd')`).join(', ')}`,
        `CREATE TABLE fp_b (LIKE fp_a INCLUDING ALL); INSERT INTO fp_b SELECT * FROM fp_a`,
        `UPDATE fp_b SET note = 'changed' WHERE id = 'é'; DELETE FROM fp_b WHERE id IN ('😀', 'k000007'); INSERT INTO fp_b VALUES ('new', 'row')`,
        `CREATE TABLE fp_bag (n int); INSERT INTO fp_bag VALUES (1), (1), (2)`,
      ],
    },
  },
  {
    engine: mariadb,
    settings: { 'log-bin': 'binlog', 'server-id': '1' },
    setting: ['SELECT @@log_bin', '1'],
    table: 'CREATE DATABASE k; CREATE TABLE k.kept (id int PRIMARY KEY) ENGINE=InnoDB; INSERT INTO k.kept VALUES (1), (2), (3)',
    count: 'SELECT COUNT(*) FROM k.kept',
    bad: { 'no-such-setting': '1' },
    badLog: /unknown variable/,
    keyed: {
      names: ['fp.fp_a', 'fp.fp_b', 'fp.fp_bag'],
      sql: [
        // A collation that sorts 'é' beside 'e' and ignores case: the key order must still be the bytes'.
        'CREATE DATABASE fp CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
        `CREATE TABLE fp.fp_a (id varchar(20) PRIMARY KEY, note text) ENGINE=InnoDB; INSERT INTO fp.fp_a SELECT CONCAT('k', LPAD(seq, 6, '0')), CONCAT('n', seq) FROM seq_1_to_${KEYED_ROWS}`,
        `INSERT INTO fp.fp_a VALUES ${ODD_KEYS.map((key) => `('${key}', 'odd')`).join(', ')}`,
        'CREATE TABLE fp.fp_b LIKE fp.fp_a; INSERT INTO fp.fp_b SELECT * FROM fp.fp_a',
        `UPDATE fp.fp_b SET note = 'changed' WHERE id = 'é'; DELETE FROM fp.fp_b WHERE id IN ('😀', 'k000007'); INSERT INTO fp.fp_b VALUES ('new', 'row')`,
        'CREATE TABLE fp.fp_bag (n int) ENGINE=InnoDB; INSERT INTO fp.fp_bag VALUES (1), (1), (2)',
      ],
    },
  },
];

describe.each(providersUnderTest())('instances on the $name provider (real servers)', (provider: Provider) => {
  describe.each(ENGINES)('$engine.displayName', ({ engine, settings, setting, table, count, bad, badLog, keyed }) => {
    it('starts with the settings asked for, reachable from here, and runs the engine\'s tools beside itself', async () => {
      const context = await providerContext('firedrill-it-instance-');
      const instance = await provider.create({ name: 'source', engine, settings }, context);
      await instance.initialize();
      const server = await instance.start();
      expect(server.connection.host).toBe('127.0.0.1');
      expect(await value(server, setting[0])).toBe(setting[1]);
      expect(server.readiness.pollIntervalMs).toBeGreaterThan(0);
      const tool = await server.run(engine.reportedTools[0]!, ['--version']);
      expect(tool.stdout).toContain(server.version.split('.')[0]);
      await server.writeFile(`${server.paths.scratch}/note.txt`, 'beside the server');
      expect((await server.readFile(`${server.paths.scratch}/note.txt`)).toString()).toBe('beside the server');
    });

    it('survives a kill (crash recovery on the next start), stops and starts again, and destroy leaves nothing', async () => {
      const context = await providerContext('firedrill-it-instance-');
      const instance = await provider.create({ name: 'crash', engine }, context);
      await instance.initialize();
      const first = await instance.start();
      const session = await engine.connect(first.connection);
      await session.query(table);
      await session.close();
      const killed = await first.kill();
      expect(await first.isRunning()).toBe(false);
      const second = await killed.start();
      expect(await value(second, count)).toBe('3');
      expect(await second.waitWritable()).toMatchObject({ pollIntervalMs: 25 });
      const stopped = await second.stop();
      expect(await second.isRunning()).toBe(false);
      const third = await stopped.start();
      expect(await value(third, count)).toBe('3');
      await third.destroy();
      await context.resources[Symbol.asyncDispose]();
      expect(context.resources.failures).toEqual([]);
      expect(await leftovers(context.workDir)).toEqual({ entries: [], processes: [] });
      expect(await containersOf(context.runId)).toEqual([]);
      expect(context.logs.get('crash')).toMatch(/ready to accept connections|ready for connections/);
    });

    it('several instances run at once on their own ports', async () => {
      const context = await providerContext('firedrill-it-instance-');
      const servers = await Promise.all(
        ['a', 'b', 'c'].map(async (name) => {
          const instance = await provider.create({ name, engine }, context);
          await instance.initialize();
          return instance.start();
        }),
      );
      expect(new Set(servers.map((server) => server.connection.port)).size).toBe(3);
      for (const server of servers) expect(await value(server, 'SELECT 1')).toBe('1');
    });

    it('row fingerprints come in batches in the key\'s byte order, whatever the collation, and pair up across tables', async () => {
      const context = await providerContext('firedrill-it-instance-');
      const instance = await provider.create({ name: 'keys', engine }, context);
      await instance.initialize();
      const server = await instance.start();
      const [a, b, bag] = keyed.names;
      await withSessionOf(server, async (session) => {
        for (const statement of keyed.sql) await session.query(statement);
        const { keys, batches } = await fingerprintKeys(engine, session, a);
        expect(batches).toBe(2);
        expect(keys).toHaveLength(KEYED_ROWS + ODD_KEYS.length);
        expect(keys).toEqual([...keys].sort(compareKeys));
        // Byte order puts U+FB00 (EF AC 80) before U+1F600 (F0 9F 98 80); UTF-16 order would not.
        expect(keys.slice(-3)).toEqual(['["é"]', '["ﬀ"]', '["😀"]']);
        const differing: Array<[string, boolean]> = [];
        // One read at a time per session: the other table through a second one.
        await withSessionOf(server, (other) =>
          pairByKey(engine.rowFingerprints(session, a), engine.rowFingerprints(other, b), (row, counterpart) => {
            if (counterpart?.hash !== row.hash) differing.push([row.key, counterpart !== undefined]);
          }),
        );
        expect(differing).toEqual([['["k000007"]', false], ['["é"]', true], ['["😀"]', false]]);
        // No key: rows are keyed by content, and two equal rows pair as one.
        expect((await fingerprintKeys(engine, session, bag)).keys).toHaveLength(3);
        let paired = 0;
        await pairByKey(engine.rowFingerprints(session, bag), null, () => void paired++);
        expect(paired).toBe(2);
        // Leaving early ends the read, and the session goes on answering.
        for await (const batch of engine.rowFingerprints(session, a)) if (batch.length > 0) break;
        expect(await session.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      });
    });

    it('a server that cannot start fails with its log, and nothing of it keeps running', async () => {
      const context = await providerContext('firedrill-it-instance-');
      const instance = await provider.create({ name: 'broken', engine, settings: bad }, context);
      await instance.initialize();
      await expect(instance.start()).rejects.toThrow(badLog);
      await context.resources[Symbol.asyncDispose]();
      expect((await leftovers(context.workDir)).processes).toEqual([]);
    });
  });
});

describe.each(providersUnderTest())('datasets on the $name provider (real PostgreSQL)', (provider: Provider) => {
  it('loads a pg_dump --format=directory dump as a dataset: copied beside the server and read there by pg_restore', async () => {
    const engine = postgres;
    const context = await providerContext('firedrill-it-instance-');
    const servers: StartedInstance[] = [];
    for (const name of ['dumped', 'loaded']) {
      const instance = await provider.create({ name, engine }, context);
      await instance.initialize();
      const server = await instance.start();
      await withSessionOf(server, (session) => engine.createDatabase(session, engine.databaseName));
      servers.push(server);
    }
    const [dumped, loaded] = servers as [StartedInstance, StartedInstance];
    const database = { ...dumped.connection, database: engine.databaseName };
    await withSessionOf(dumped, (session) => session.query('CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept SELECT g, md5(g::text) FROM generate_series(1, 500) g'), database);
    // The dump is made beside its server (in its container, on the docker provider) and brought here.
    const inside = `${dumped.paths.scratch}/kept.dir`;
    await dumped.run('pg_dump', ['--format=directory', '--compress=1', '-f', inside, ...engine.clientArgs({ ...dumped.localConnection, database: engine.databaseName }), `--dbname=${engine.databaseName}`], { env: engine.clientEnv(dumped.localConnection) });
    const here = join(context.workDir, 'kept.dir');
    await mkdir(here);
    const names = (await dumped.run('ls', [inside], { quiet: true })).stdout.trim().split('\n');
    expect(names).toContain('toc.dat');
    for (const name of names) await writeFile(join(here, name), await dumped.readFile(`${inside}/${name}`));
    await withSessionOf(loaded, (session) => new SqlFilesDataset([here], []).load({ engine, instance: loaded, connection: { ...loaded.connection, database: engine.databaseName }, session }), { ...loaded.connection, database: engine.databaseName });
    const restore = context.exec.records.find((record) => /pg_restore /.test(record.command))!;
    expect(restore.command).toMatch(/pg_restore --exit-on-error .* \S+\/dataset\/kept\.dir$/);
    expect(await value(loaded, `SELECT count(*) || ' ' || sum(length(note)) FROM kept`, engine.databaseName)).toBe('500 16000');
  });
});

describe('the local provider', () => {
  it('initializes the first cluster of a version once into the template cache; later ones are copies; servers listen below the ephemeral ports a container runtime publishes on', async () => {
    const cache = await makeRunTempDir('firedrill-it-cache-');
    const previous = process.env.FIREDRILL_CACHE_DIR;
    process.env.FIREDRILL_CACHE_DIR = cache;
    onTestFinished(async () => {
      if (previous === undefined) delete process.env.FIREDRILL_CACHE_DIR;
      else process.env.FIREDRILL_CACHE_DIR = previous;
      await rm(cache, { recursive: true, force: true });
    });
    const { localProvider } = await import('../../src/providers/local/local-provider.js');
    const context = await providerContext('firedrill-it-instance-');
    const ephemeral = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]);
    for (const name of ['first', 'second']) {
      const instance = await localProvider.create({ name, engine: postgres }, context);
      await instance.initialize();
      const server = await instance.start();
      expect(await value(server, 'SHOW data_checksums')).toBe('on');
      expect(server.connection.port).toBeLessThan(ephemeral);
      expect(server.connection.port).toBeGreaterThanOrEqual(10_000);
    }
    const commands = context.exec.records.map((record) => record.command);
    expect(commands.filter((command) => command.includes('/initdb '))).toHaveLength(1);
    expect(commands.filter((command) => command.startsWith(`cp -a ${cache}/`))).toHaveLength(2);
    expect(await readdir(cache)).toHaveLength(1);
  });
});
