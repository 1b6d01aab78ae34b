import { describe, expect, it } from 'vitest';
import { SHOP_BYTES_PER_SCALE } from '../../src/datasets/shop.js';
import { parseScenario } from '../../src/scenario/loader.js';
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

  it('refuses scale and size together, and a size beyond what it makes', async () => {
    const both = await problemsOf(withDataset('{ builtin: shop, scale: 2, size: 1GB }'));
    expect(both).toHaveLength(1);
    expect(both[0]).toMatch(/^scenarios\/x\.yaml:4:45: target\.dataset\.size: give scale or size, not both/);
    const huge = await problemsOf(withDataset('{ builtin: shop, size: 5TB }'));
    expect(huge[0]).toMatch(/target\.dataset\.size: 5TB is more than the built-in dataset makes \(at most 32GB\); load your own data with files/);
  });
});
