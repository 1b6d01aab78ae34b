import { withConnection } from '../../src/engines/session.js';
import { describe, expect, it } from 'vitest';
import { ShopDataset } from '../../src/datasets/shop.js';
import type { ConnectionInfo, Engine } from '../../src/engines/engine.js';
import { mariadb } from '../../src/engines/mariadb.js';
import { postgres } from '../../src/engines/postgres.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { StartedInstance } from '../../src/providers/provider.js';
import { parseScenario } from '../../src/scenario/loader.js';
import { providerContext } from '../support/providers.js';

/** Each engine's own measure of what the dataset's tables take on disk, indexes included. */
const ENGINES: Array<{ engine: Engine; strategy: string; bytesOnDisk: (database: string) => string }> = [
  {
    engine: postgres,
    strategy: 'pg-dump',
    bytesOnDisk: () => `SELECT sum(pg_total_relation_size(oid)) AS bytes FROM pg_class WHERE relname IN ('customers', 'products', 'orders', 'order_items')`,
  },
  {
    engine: mariadb,
    strategy: 'mysqldump',
    bytesOnDisk: (database) => `SELECT SUM(ALLOCATED_SIZE) AS bytes FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE '${database}/%'`,
  },
];


/** Loads the shop into a new database and returns its connection. */
async function loaded(server: StartedInstance, database: string, dataset: ShopDataset): Promise<ConnectionInfo> {
  const { engine } = server;
  await withConnection(engine, server.connection, (session) => engine.createDatabase(session, database));
  const connection = { ...server.connection, database };
  await withConnection(engine, connection, (session) => dataset.load({ engine, instance: server, connection, session }));
  return connection;
}

/** Every generated value (not the load's timestamps), in key order, as text. */
async function contents(engine: Engine, connection: ConnectionInfo): Promise<string[][]> {
  return withConnection(engine, connection, async (session) => {
    const tables = [
      'SELECT customer_id, name, email FROM customers ORDER BY 1',
      'SELECT product_id, name, price FROM products ORDER BY 1',
      'SELECT order_id, customer_id, status, total FROM orders ORDER BY 1',
      'SELECT order_id, line_no, product_id, quantity, price FROM order_items ORDER BY 1, 2',
    ];
    const rows: string[][] = [];
    for (const sql of tables) rows.push(...(await session.query(sql)).map((row) => Object.values(row).map(String)));
    return rows;
  });
}

async function started(engine: Engine): Promise<StartedInstance> {
  const context = await providerContext(`firedrill-dataset-${engine.name}-`);
  const instance = await localProvider.create({ name: 'dataset', engine }, context);
  await instance.initialize();
  return instance.start();
}

const generated: Record<string, string[][]> = {};

describe.each(ENGINES)('the built-in dataset generated on $engine.displayName', ({ engine, strategy, bytesOnDisk }) => {
  it('has the documented row counts and consistent orders, the same rows for the same seed and others for another', async () => {
    const server = await started(engine);
    const dataset = new ShopDataset(0.1, 42);
    expect(dataset.describe()).toBe('built-in shop, scale 0.1 (100 customers, 20 products, 1000 orders)');
    const first = await loaded(server, 'seed_a', dataset);
    await withConnection(engine, first, async (session) => {
      const [counts] = await session.query<Record<string, unknown>>(
        `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM orders) AS orders,
                (SELECT count(*) FROM order_items) AS items, (SELECT count(*) FROM orders WHERE order_id <= 1000) AS low_ids`,
      );
      expect(Object.fromEntries(Object.entries(counts!).map(([key, value]) => [key, Number(value)]))).toMatchObject({ customers: 100, products: 20, orders: 1000, low_ids: 1000 });
      // One to four lines an order, about 2.5 on average.
      expect(Number(counts!.items)).toBeGreaterThan(2000);
      expect(Number(counts!.items)).toBeLessThan(3000);
      const [wrong] = await session.query<Record<string, unknown>>(
        `SELECT count(*) AS n FROM orders o WHERE total <> (SELECT sum(quantity * price) FROM order_items i WHERE i.order_id = o.order_id)`,
      );
      expect(Number(wrong!.n)).toBe(0);
      // The keys the load added afterwards hold for the next writer (the load's own settings stayed in its sessions).
      await expect(session.query(`INSERT INTO order_items (order_id, line_no, product_id, quantity, price) VALUES (999999, 1, 1, 1, 1.00)`)).rejects.toThrow();
      await expect(session.query(`INSERT INTO orders (order_id, customer_id, status, total) VALUES (1, 1, 'new', 1.00)`)).rejects.toThrow();
      await session.query(`DELETE FROM orders WHERE order_id = 1`);
      const [cascaded] = await session.query<Record<string, unknown>>(`SELECT count(*) AS n FROM order_items WHERE order_id = 1`);
      expect(Number(cascaded!.n)).toBe(0);
    });
    // Scale 1: where rows are streamed, the order lines span several chunks.
    const again = await contents(engine, await loaded(server, 'seed_b', new ShopDataset(1, 42)));
    const other = await contents(engine, await loaded(server, 'seed_c', new ShopDataset(1, 7)));
    expect(again.length).toBeGreaterThan(30_000);
    expect(other).not.toEqual(again);
    expect(other.slice(0, 100)).toEqual(again.slice(0, 100));
    generated[engine.name] = again;
  });

  it('takes about the size a scenario asks for', async () => {
    const scenario = await parseScenario(`name: t\ntarget: { engine: ${engine.name}, dataset: { builtin: shop, size: 5MB } }\nstrategy: ${strategy}\nfault: { kind: bad-delete, table: orders }\n`, 'x.yaml');
    const { scale } = scenario.target.dataset as { scale: number };
    const server = await started(engine);
    const connection = await loaded(server, 'sized', new ShopDataset(scale, 42));
    const [row] = await withConnection(engine, connection, (session) => session.query<{ bytes: string }>(bytesOnDisk('sized')));
    // Loose at this size: InnoDB's files start with a few extents each, a fixed cost the per-scale figure leaves out.
    expect(Number(row!.bytes) / 5e6).toBeGreaterThan(0.5);
    expect(Number(row!.bytes) / 5e6).toBeLessThan(2);
    const [orders] = await withConnection(engine, connection, (session) => session.query<{ n: string }>('SELECT count(*) AS n FROM orders'));
    expect(Number(orders!.n)).toBe(Math.round(scale * 10_000));
  });
});

describe('the built-in dataset on both engines', () => {
  it('is the same rows for the same seed', () => {
    expect(generated.mariadb).toEqual(generated.postgres);
  });
});
