import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { sleep } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { defineFault } from './fault.js';

const PROBE_EVERY_MS = 100;

export const corruptPage = defineFault({
  kind: 'corrupt-page',
  summary: 'Bytes overwritten inside a table\'s data file with the server stopped; detected when the page is read, recovered from backup',
  role: 'incident',
  logical: false,
  defaultTarget: 'latest',
  leaves: 'running',
  params: z.strictObject({
    table: z.string().min(1).describe('The table whose data file is damaged'),
    bytes: z.number().int().min(1).max(4096).default(64).describe('How many bytes are overwritten (random) inside one of its pages'),
  }),
  async inject(context, params) {
    const { engine, session, source } = context;
    const file = await engine.dataFileOf(session, params.table);
    await context.capture();
    const point = await engine.currentPoint(session);
    await session.close().catch(() => undefined);
    // Stopped first: a running server could write its clean copy of the page over the damage.
    const stopped = await source.stop();
    const path = `${stopped.paths.data}/${file.path}`;
    const offset = file.dataPage * file.pageBytes + Math.floor(file.pageBytes / 4);
    await stopped.run('dd', [`of=${path}`, 'bs=1', `seek=${offset}`, `count=${params.bytes}`, 'conv=notrunc', 'status=none'], {
      stdin: { stream: Readable.from([randomBytes(params.bytes)]), describe: `${params.bytes} random bytes` },
    });
    const description = `${params.bytes} bytes overwritten in page ${file.dataPage} of ${params.table} (${file.path}) with the server stopped`;
    try {
      const restarted = await stopped.start();
      return { description, point, source: { state: 'running', instance: restarted } };
    } catch (error) {
      return { description, point, source: { state: 'stopped', instance: stopped }, detection: `the server did not start on the damaged file: ${errorMessage(error).split('\n')[0]}` };
    }
  },
  /** Reads the whole table until it fails, as the first query to touch the page would. */
  async detect(context, outcome, { table }, withinMs) {
    if (outcome.detection) return outcome.detection;
    const instance = outcome.source.state === 'running' && outcome.source.instance ? outcome.source.instance : context.source;
    const started = performance.now();
    while (performance.now() - started < withinMs) {
      try {
        const session = await context.engine.connect({ ...instance.connection, database: context.engine.databaseName });
        try {
          await session.query(`SELECT COUNT(*) FROM ${context.engine.quoteIdent(table)}`);
        } finally {
          await session.close();
        }
      } catch (error) {
        return `a full read of ${table} failed: ${errorMessage(error).split('\n')[0]}`;
      }
      await sleep(PROBE_EVERY_MS);
    }
    return undefined;
  },
});
