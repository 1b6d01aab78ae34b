import { describe, expect, it } from 'vitest';
import { SHOP_BYTES_PER_SCALE, ShopDataset } from '../../src/datasets/shop.js';
import { parseOverride, parseScenario } from '../../src/scenario/loader.js';
import { problemsOf } from '../support/scenarios.js';

const withDataset = (dataset: string) => `name: t
target:
  engine: postgres
  dataset: ${dataset}
strategy: pg-dump
fault:
  kind: bad-delete
  table: orders
`;

describe('the built-in dataset by size', () => {
  it('turns a size into the scale that takes about that much on disk', async () => {
    const scenario = await parseScenario(withDataset('{ builtin: shop, size: 2GB }'), 'x.yaml');
    expect(scenario.target.dataset).toEqual({ builtin: 'shop', scale: 625, size: 2e9, cache: false });
    expect(625 * SHOP_BYTES_PER_SCALE).toBe(2e9);
    await expect(parseScenario(withDataset('{ builtin: shop, size: 5MB }'), 'x.yaml')).resolves.toMatchObject({ target: { dataset: { scale: 1.56 } } });
    await expect(parseScenario(withDataset('{ builtin: shop, scale: 3 }'), 'x.yaml')).resolves.toMatchObject({ target: { dataset: { builtin: 'shop', scale: 3 } } });
  });

  it('names the position and the units it takes for a size it cannot read', async () => {
    const problems = await problemsOf(withDataset('{ builtin: shop, size: 2GQ }'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:4:35: target\.dataset\.size: "2GQ" is not a size; write it like 500MB, 2GB or 1\.5GiB/);
  });

  it('keeps the seeded data when asked, with a boolean and nothing else', async () => {
    await expect(parseScenario(withDataset('{ builtin: shop, size: 1GB, cache: true }'), 'x.yaml')).resolves.toMatchObject({ target: { dataset: { scale: 313, cache: true } } });
    const problems = await problemsOf(withDataset('{ builtin: shop, cache: sometimes }'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:4:36: target\.dataset\.cache: /);
  });

  it('takes a size from --set over the file\'s scale, and a scale over its size: one replaces the other', async () => {
    const sized = await parseScenario(withDataset('{ builtin: shop, scale: 0.5 }'), 'x.yaml', [parseOverride('target.dataset.size=1GB')]);
    expect(sized.target.dataset).toMatchObject({ scale: 313, size: 1e9 });
    const scaled = await parseScenario(withDataset('{ builtin: shop, size: 1GB }'), 'x.yaml', [parseOverride('target.dataset.scale=2')]);
    expect(scaled.target.dataset).toEqual({ builtin: 'shop', scale: 2, cache: false });
    const sweep = await parseScenario(`${withDataset('{ builtin: shop }')}sweep: { scale: [1, 2] }\n`, 'x.yaml', [parseOverride('sweep.size=[10MB, 20MB]')]);
    expect(sweep.sweep!.map((point) => point.label)).toEqual(['10MB', '20MB']);
  });

  it('refuses scale and size together, and a size beyond what it makes', async () => {
    const both = await problemsOf(withDataset('{ builtin: shop, scale: 2, size: 1GB }'));
    expect(both).toHaveLength(1);
    expect(both[0]).toMatch(/^scenarios\/x\.yaml:4:45: target\.dataset\.size: give scale or size, not both/);
    // Given both on the command line, they are refused too.
    const flags = [parseOverride('target.dataset.size=1GB'), parseOverride('target.dataset.scale=2')];
    await expect(parseScenario(withDataset('{ builtin: shop }'), 'x.yaml', flags)).rejects.toThrow(/target\.dataset\.size: give scale or size, not both/);
    const huge = await problemsOf(withDataset('{ builtin: shop, size: 5TB }'));
    expect(huge[0]).toMatch(/target\.dataset\.size: 5TB is more than the built-in dataset makes \(at most 32GB\); load your own data with files/);
  });
});

describe('the shop rows made in firedrill for COPY', () => {
  it('hash to the values the server computes, up to the largest ids a scale allows', () => {
    const shop = new ShopDataset(1, 42) as unknown as { hashed(id: number, column: string, range: number): number; salts: Record<string, [number, number]> };
    const prime = 2_147_483_647n;
    // The server's formula, in exact integers.
    const server = (id: number, column: string, range: number) => {
      const [offset, salt] = shop.salts[column]!.map(BigInt) as [bigint, bigint];
      const mixed = (BigInt(id) * 2_654_435_761n + offset) % prime;
      return Number(((mixed * mixed + salt) % prime) % BigInt(range));
    };
    const ids = [1, 2, 65_535, 65_536, 1_000_003, 99_999_999, 400_000_003, 2_147_483_646];
    for (let id = 1; id < 2_000; id += 7) ids.push(id * 1_000_003);
    for (const column of ['customer', 'lines', 'product', 'quantity', 'price']) {
      for (const id of ids) expect(shop.hashed(id, column, 9_900)).toBe(server(id, column, 9_900));
    }
  });
});
