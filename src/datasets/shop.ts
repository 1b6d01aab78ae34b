import { seededRandom, workloadId, type Dataset, type LoadContext } from './dataset.js';

const BATCH = 1000;

/**
 * The built-in shop: customers, products, orders and order_items with foreign keys.
 * Scale 1 is 1,000 customers, 200 products, 10,000 orders and about 25,000 order items.
 * DDL and data use the subset of SQL both engines share.
 */
export class ShopDataset implements Dataset {
  /** Its tables, known before anything is loaded (faults and checks are validated against them). */
  static readonly tables = ['customers', 'products', 'orders', 'order_items'] as const;

  constructor(
    private readonly scale: number,
    private readonly seed: number,
  ) {}

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

  async load({ session }: LoadContext): Promise<void> {
    const ddl = [
      `CREATE TABLE customers (customer_id integer PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE products (product_id integer PRIMARY KEY, name varchar(100) NOT NULL, price numeric(10,2) NOT NULL)`,
      `CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (customer_id), status varchar(20) NOT NULL, total numeric(12,2) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE, line_no integer NOT NULL, product_id integer NOT NULL REFERENCES products (product_id), quantity integer NOT NULL, price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line_no))`,
      `CREATE INDEX order_items_product ON order_items (product_id)`,
      `CREATE INDEX orders_customer ON orders (customer_id)`,
    ];
    for (const statement of ddl) await session.query(statement);
    const random = seededRandom(this.seed);
    const { customers, products, orders } = this.counts;
    await insertBatches(session, 'customers (customer_id, name, email)', customers, (i) => `(${i}, 'Customer ${i}', 'customer${i}@example.com')`);
    await insertBatches(session, 'products (product_id, name, price)', products, (i) => `(${i}, 'Product ${i}', ${(1 + random() * 99).toFixed(2)})`);
    const items: string[] = [];
    await insertBatches(session, 'orders (order_id, customer_id, status, total)', orders, (i) => {
      const lines = this.orderLines(i, random);
      items.push(...lines.rows);
      return `(${i}, ${1 + Math.floor(random() * customers)}, 'shipped', ${lines.total})`;
    });
    for (let start = 0; start < items.length; start += BATCH) {
      await session.query(`INSERT INTO order_items (order_id, line_no, product_id, quantity, price) VALUES ${items.slice(start, start + BATCH).join(', ')}`);
    }
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

async function insertBatches(session: LoadContext['session'], into: string, count: number, row: (i: number) => string): Promise<void> {
  for (let start = 1; start <= count; start += BATCH) {
    const values: string[] = [];
    for (let i = start; i < Math.min(start + BATCH, count + 1); i++) values.push(row(i));
    await session.query(`INSERT INTO ${into} VALUES ${values.join(', ')}`);
  }
}
