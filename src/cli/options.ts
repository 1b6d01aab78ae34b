import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../util/duration.js';
import { parseBytes, parseDays, parseInterval } from '../util/size.js';

/** Commander argument parsers that say what they want. */
export const parse = {
  interval(value: string): number {
    const ms = parseInterval(value);
    if (!ms) throw new InvalidArgumentError('write it like 1d, 6h, 1w or 30m');
    return ms;
  },
  days(value: string): number {
    const days = parseDays(value);
    if (!days) throw new InvalidArgumentError('write it like 365d, 52w or 3y');
    return days;
  },
  bytes(value: string): number {
    const bytes = parseBytes(value);
    if (bytes === undefined) throw new InvalidArgumentError('write it like 5GB, 800GB, 512MiB or a number of bytes');
    return bytes;
  },
  /** 90s, 5m, 1h30m, 500ms (a bare number is seconds). */
  duration(value: string): number {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) throw new InvalidArgumentError('write it like 30s, 5m or 1h');
    return ms;
  },
  port(value: string): number {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('a port number, 1 to 65535');
    return port;
  },
  count(value: string): number {
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('a whole number, 1 or more');
    return count;
  },
};
