import type { BulkLoad, SqlSession } from '../engines/engine.js';
import { copyChunks, type CopyTextWriter } from './copy-text.js';
import { seededRandom, workloadId, type Dataset, type LoadContext } from './dataset.js';

/**
 * On-disk bytes of one scale unit, tables and their indexes just after the load, measured at
 * scale 100 (1,000,000 orders): PostgreSQL 15 3.60 MB (pg_total_relation_size), MariaDB 10.11
 * 2.76 MB (the InnoDB files' allocated size). `size` in a scenario becomes a scale through their
 * mean, so PostgreSQL gets about 13 % more than asked and MariaDB about 13 % less.
 */
export const SHOP_BYTES_PER_SCALE = 3.2e6;

/** The largest scale a scenario may ask for (about 32 GB): beyond it, a typo rather than a plan. */
export const SHOP_MAX_SCALE = 10_000;

/** 2^31 − 1, a prime: every generated value is a residue modulo it. */
const PRIME = 2_147_483_647;
/** Knuth's multiplicative constant; above 2^31, so PostgreSQL computes in bigint from the first product. */
const MULTIPLIER = 2_654_435_761;
/** Order lines are keyed `order_id * LINE_KEYS + line_no - 1`, so every line has its own values. */
const LINE_KEYS = 4;
/** MULTIPLIER reduced modulo PRIME: the same residues, in products that `mulMod` can keep exact. */
const MULTIPLIER_RESIDUE = MULTIPLIER % PRIME;
const COLUMNS = ['customer', 'lines', 'product', 'quantity', 'price', 'productPrice'] as const;

/**
 * The built-in shop: customers, products, orders and order_items with foreign keys.
 * Scale 1 is 1,000 customers, 200 products, 10,000 orders and about 25,000 order items.
 * DDL and data use the subset of SQL both engines share.
 */
export class ShopDataset implements Dataset {
  /** Its tables, known before anything is loaded (faults and checks are validated against them). */
  static readonly tables = ['customers', 'products', 'orders', 'order_items'] as const;

  /** The scale whose load takes about `bytes` on disk (tables and indexes). */
  static scaleFor(bytes: number): number {
    return Math.max(0.01, Number((bytes / SHOP_BYTES_PER_SCALE).toPrecision(3)));
  }

  /** Per generated column, the offset and salt of its hash: where the seed enters the data. */
  private readonly salts: Record<(typeof COLUMNS)[number], [number, number]>;

  constructor(
    private readonly scale: number,
    seed: number,
  ) {
    const random = seededRandom(seed);
    this.salts = Object.fromEntries(COLUMNS.map((column) => [column, [Math.floor(random() * PRIME), Math.floor(random() * PRIME)]])) as typeof this.salts;
  }

  get counts() {
    return {
      customers: Math.max(10, Math.round(1000 * this.scale)),
      products: Math.max(10, Math.round(200 * this.scale)),
      orders: Math.max(10, Math.round(10_000 * this.scale)),
    };
  }

  describe(): string {
    const { customers, products, orders } = this.counts;
    return `built-in shop, scale ${this.scale} (${customers} customers, ${products} products, ${orders} orders)`;
  }

  /**
   * Generated on the server, one INSERT … SELECT per table; where the engine has a faster path
   * for rows streamed to it (PostgreSQL's COPY), the orders and their lines are made here
   * instead and streamed, a chunk at a time, so memory does not grow with the scale either
   * way. Two sessions work side by side through the plan's phases; keys, indexes and foreign
   * keys come after the rows where that is cheaper for the engine, and the foreign keys are
   * added last because every value was generated to satisfy them. Every value is a hash of its
   * row's id and the seed, so the same seed gives the same rows on any engine, in any order of
   * loading.
   */
  async load({ engine, connection, session }: LoadContext): Promise<void> {
    const bulk = await engine.bulkLoad(session);
    const plan = this.plan(bulk);
    const sessions = await Promise.all([engine.connect(connection), engine.connect(connection)]);
    try {
      for (const statement of plan.settings) await Promise.all(sessions.map((each) => each.query(statement)));
      for (const phase of plan.phases) await Promise.all(phase.map((steps, index) => run(bulk, sessions[index]!, steps)));
    } finally {
      await Promise.all(sessions.map((each) => each.close()));
    }
  }

  /**
   * The statements themselves, for tables clustered on their keys and not (either engine's
   * kind): the same statements make the same rows. The integers are a placeholder: how a server
   * counts from 1 to N (a Sequence engine, a recursive CTE) changes no row; nor does streaming
   * the rows by COPY instead, which makes the very values the statements do (the dataset test
   * compares the rows of both engines, one loaded each way).
   */
  async identity(): Promise<string> {
    const integers = (first: number, last: number) => `<the integers ${first} to ${last}>`;
    const plans = [false, true].map((clusteredOnKey) => this.plan({ series: integers, settings: [], clusteredOnKey }));
    return JSON.stringify({ dataset: 'shop', plans });
  }

  /**
   * Every statement of the load: phases of two lists each, run side by side on two sessions, a
   * phase starting when both lists of the one before have finished.
   */
  private plan(bulk: BulkLoad) {
    const key = (columns: string) => (bulk.clusteredOnKey ? `, PRIMARY KEY (${columns})` : '');
    const rows = this.rows(bulk);
    const tables = {
      customers: `CREATE TABLE customers (customer_id integer NOT NULL, name varchar(100) NOT NULL, email varchar(200) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP${key('customer_id')})`,
      products: `CREATE TABLE products (product_id integer NOT NULL, name varchar(100) NOT NULL, price numeric(10,2) NOT NULL${key('product_id')})`,
      orders: `CREATE TABLE orders (order_id bigint NOT NULL, customer_id integer NOT NULL, status varchar(20) NOT NULL, total numeric(12,2) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP${key('order_id')})`,
      items: `CREATE TABLE order_items (order_id bigint NOT NULL, line_no integer NOT NULL, product_id integer NOT NULL, quantity integer NOT NULL, price numeric(10,2) NOT NULL${key('order_id, line_no')})`,
    };
    const foreignKeys = {
      orders: `ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (customer_id)`,
      itemsOrders: `ALTER TABLE order_items ADD FOREIGN KEY (order_id) REFERENCES orders (order_id) ON DELETE CASCADE`,
      itemsProducts: `ALTER TABLE order_items ADD FOREIGN KEY (product_id) REFERENCES products (product_id)`,
    };
    const indexes = { orders: `CREATE INDEX orders_customer ON orders (customer_id)`, items: `CREATE INDEX order_items_product ON order_items (product_id)` };
    const phases: Array<[Step[], Step[]]> = bulk.clusteredOnKey
      ? [
          // A table stored in key order takes its rows in that order, from one session.
          [
            [tables.customers, tables.orders, rows.customers, rows.orders, indexes.orders],
            [tables.products, tables.items, rows.products, rows.items, indexes.items],
          ],
          // With the checks off, a foreign key is added without reading the rows.
          [[foreignKeys.orders, foreignKeys.itemsOrders, foreignKeys.itemsProducts], []],
        ]
      : [
          // Each table is made and filled in one transaction on one session: a heap created in
          // the transaction that loads it takes its rows already frozen (see BulkLoad.copy), in
          // key order, so each key is built from presorted rows. The order lines, most of the
          // rows, take about as long on one session as the other three tables and their keys
          // and indexes on the other (measured on PostgreSQL 15 at 343 MB and 1 GB).
          [
            ['BEGIN', tables.items, rows.items, 'COMMIT', `ALTER TABLE order_items ADD PRIMARY KEY (order_id, line_no)`, indexes.items],
            [
              'BEGIN',
              tables.customers,
              tables.products,
              tables.orders,
              rows.customers,
              rows.products,
              rows.orders,
              'COMMIT',
              `ALTER TABLE customers ADD PRIMARY KEY (customer_id)`,
              `ALTER TABLE products ADD PRIMARY KEY (product_id)`,
              `ALTER TABLE orders ADD PRIMARY KEY (order_id)`,
              indexes.orders,
              foreignKeys.orders,
            ],
          ],
          // Validating a foreign key locks its table against another being added: the order
          // lines' two, one after the other.
          [[foreignKeys.itemsOrders, foreignKeys.itemsProducts], []],
        ];
    return { settings: bulk.settings, phases };
  }

  /**
   * The INSERT … SELECT statements, a table each; where the engine can stream rows faster, the
   * orders and their lines made here instead and copied in.
   */
  private rows(bulk: BulkLoad): { customers: string; products: string; orders: Step; items: Step } {
    const { customers, products, orders } = this.counts;
    const lines = `1 + ${this.hash('o.i', 'lines', LINE_KEYS)}`;
    const lineKey = (line: string) => `(o.i * ${LINE_KEYS} + ${line} - 1)`;
    // In integer cents until the last step: decimal arithmetic costs the server far more per row.
    const cents = (id: string, column: 'price' | 'productPrice') => `(100 + ${this.hash(id, column, 9900)})`;
    const price = (id: string, column: 'price' | 'productPrice') => `${cents(id, column)} * 0.01`;
    const quantity = (id: string) => `(1 + ${this.hash(id, 'quantity', 3)})`;
    // The total is the sum of the order's own lines, computed from the same hashes as the lines are.
    const total = `(${Array.from({ length: LINE_KEYS }, (_, index) => {
      const id = lineKey(String(index + 1));
      return `CASE WHEN ${index + 1} <= ${lines} THEN ${quantity(id)} * ${cents(id, 'price')} ELSE 0 END`;
    }).join(' + ')}) * 0.01`;
    const line = lineKey('l.i');
    const copied = bulk.copy && {
      orders: {
        table: 'orders',
        columns: ['order_id', 'customer_id', 'status', 'total'],
        chunks: () => copyChunks(1, orders, (writer, from, last) => this.writeOrders(writer, from, last)),
      },
      items: {
        table: 'order_items',
        columns: ['order_id', 'line_no', 'product_id', 'quantity', 'price'],
        chunks: () => copyChunks(1, orders, (writer, from, last) => this.writeItems(writer, from, last)),
      },
    };
    return {
      customers: `INSERT INTO customers (customer_id, name, email) SELECT c.i, CONCAT('Customer ', c.i), CONCAT('customer', c.i, '@example.com') FROM ${bulk.series(1, customers)} AS c`,
      products: `INSERT INTO products (product_id, name, price) SELECT p.i, CONCAT('Product ', p.i), ${price('p.i', 'productPrice')} FROM ${bulk.series(1, products)} AS p`,
      orders: `INSERT INTO orders (order_id, customer_id, status, total) SELECT o.i, 1 + ${this.hash('o.i', 'customer', customers)}, 'shipped', ${total} FROM ${bulk.series(1, orders)} AS o`,
      items: `INSERT INTO order_items (order_id, line_no, product_id, quantity, price)
           SELECT o.i, l.i, 1 + ${this.hash(line, 'product', products)}, ${quantity(line)}, ${price(line, 'price')}
           FROM ${bulk.series(1, orders)} AS o JOIN ${bulk.series(1, LINE_KEYS)} AS l ON l.i <= ${lines}`,
      ...copied,
    };
  }

  /** Orders from `from` on as COPY text, the rows `rows().orders` inserts, until the writer is full. */
  private writeOrders(writer: CopyTextWriter, from: number, last: number): number {
    const { customers } = this.counts;
    let order = from;
    for (; order <= last && !writer.full(); order++) {
      const lines = 1 + this.hashed(order, 'lines', LINE_KEYS);
      let cents = 0;
      for (let line = 1; line <= lines; line++) {
        const key = order * LINE_KEYS + line - 1;
        cents += this.quantityOf(key) * this.centsOf(key);
      }
      writer.integer(order).integer(1 + this.hashed(order, 'customer', customers)).text('shipped').money(cents).endRow();
    }
    return order;
  }

  /** The lines of the orders from `from` on as COPY text, the rows `rows().items` inserts, until the writer is full. */
  private writeItems(writer: CopyTextWriter, from: number, last: number): number {
    const { products } = this.counts;
    let order = from;
    for (; order <= last && !writer.full(); order++) {
      const lines = 1 + this.hashed(order, 'lines', LINE_KEYS);
      for (let line = 1; line <= lines; line++) {
        const key = order * LINE_KEYS + line - 1;
        writer
          .integer(order)
          .integer(line)
          .integer(1 + this.hashed(key, 'product', products))
          .integer(this.quantityOf(key))
          .money(this.centsOf(key))
          .endRow();
      }
    }
    return order;
  }

  /** An order line's quantity, as `rows()` computes it on the server. */
  private quantityOf(lineKey: number): number {
    return 1 + this.hashed(lineKey, 'quantity', 3);
  }

  /** An order line's price in cents, as `rows()` computes it on the server. */
  private centsOf(lineKey: number): number {
    return 100 + this.hashed(lineKey, 'price', 9900);
  }

  /** `hash` of a number, computed here to the same value the server computes. */
  private hashed(id: number, column: (typeof COLUMNS)[number], range: number): number {
    const pair = this.salts[column];
    const mixed = belowPrime(mulMod(id, MULTIPLIER_RESIDUE) + pair[0]);
    // Both below 2^31: `| 0` lets the remainder be an integer one, not a floating-point one.
    return (belowPrime(mulMod(mixed, mixed) + pair[1]) | 0) % range;
  }

  /**
   * A value in 0 … range − 1 from a row's id, the column and the seed, in SQL both engines
   * compute alike (integer products below 2^63, MOD of non-negative numbers). The square makes
   * it non-linear: an affine map alone would step through neighbouring ids by a constant.
   */
  private hash(id: string, column: (typeof COLUMNS)[number], range: number): string {
    const [offset, salt] = this.salts[column];
    const mixed = `MOD(${id} * ${MULTIPLIER} + ${offset}, ${PRIME})`;
    return `MOD(MOD(${mixed} * ${mixed} + ${salt}, ${PRIME}), ${range})`;
  }

  private orderLines(orderId: number, random: () => number): { rows: string[]; total: string } {
    const count = 1 + Math.floor(random() * 4);
    const rows: string[] = [];
    let total = 0;
    for (let line = 1; line <= count; line++) {
      const quantity = 1 + Math.floor(random() * 3);
      const price = Number((1 + random() * 99).toFixed(2));
      total += quantity * price;
      rows.push(`(${orderId}, ${line}, ${1 + Math.floor(random() * this.counts.products)}, ${quantity}, ${price.toFixed(2)})`);
    }
    return { rows, total: total.toFixed(2) };
  }

  write(writer: number, seq: number, random: () => number) {
    const id = workloadId(writer, seq);
    const lines = this.orderLines(id, random);
    return {
      ref: id,
      statements: [
        `INSERT INTO orders (order_id, customer_id, status, total) VALUES (${id}, ${1 + Math.floor(random() * this.counts.customers)}, 'new', ${lines.total})`,
        `INSERT INTO order_items (order_id, line_no, product_id, quantity, price) VALUES ${lines.rows.join(', ')}`,
      ],
    };
  }
}

/** A statement, or rows made here and streamed into a table (`BulkLoad.copy`). */
type Step = string | { table: string; columns: string[]; chunks: () => Iterable<Buffer> };

/** Steps in order on one session. */
async function run(bulk: BulkLoad, session: SqlSession, steps: Step[]): Promise<void> {
  for (const step of steps) await (typeof step === 'string' ? session.query(step) : bulk.copy!(session, step.table, step.columns, step.chunks()));
}

/**
 * a × b mod PRIME, exact for a and b below 2^31: a is split at 2^16 so that no product
 * passes 2^48, inside the integers a double holds exactly.
 */
function mulMod(a: number, b: number): number {
  return reduce(reduce((a >>> 16) * b) * 65536 + (a & 0xffff) * b);
}

/**
 * x mod PRIME for an integer x below 2^48, without a floating-point remainder (the slow part of
 * making rows here): PRIME is 2^31 − 1, so 2^31 ≡ 1 and x ≡ its high bits + its low 31 bits.
 */
function reduce(x: number): number {
  // Below 2^17 after the division, so `| 0` truncates it exactly.
  const high = (x / 2_147_483_648) | 0;
  return belowPrime(x - high * 2_147_483_648 + high);
}

/** x mod PRIME for 0 ≤ x < 2 × PRIME. */
function belowPrime(x: number): number {
  return x >= PRIME ? x - PRIME : x;
}
