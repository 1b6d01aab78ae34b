/** Sizes as people write them: `800GB`, `1.5 TiB`, `512MB`, or bytes. Decimal units are powers of 1000, binary ones of 1024. */
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[(match[2] || 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

/** A calendar span in days: `30d`, `12w`, `3y` (365 days each). */
export function parseDays(text: string): number | undefined {
  const match = /^(\d+)\s*(d|w|y)$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { d: 1, w: 7, y: 365 }[match[2]!.toLowerCase() as 'd' | 'w' | 'y'];
}

/** An interval between backups: `1h`, `6h`, `1d`, `1w`, in milliseconds. */
export function parseInterval(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2]!.toLowerCase() as 'm' | 'h' | 'd' | 'w'];
}
