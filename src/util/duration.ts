import { z } from 'zod';

/** Durations in scenario files: `500ms`, `30s`, `2m`, `1h`, `1m30s`, or a bare number of seconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a duration into milliseconds, or returns undefined when the text is not one. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  return total;
}

/** Human form of a millisecond figure: `850 ms`, `4.21 s`, `2 min 05 s`. */
export function formatDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 59_995) return `${(ms / 1000).toFixed(2)} s`;
  // Round to whole seconds first, so 119.6 s reads "2 min 00 s", never "1 min 60 s".
  const total = Math.round(ms / 1000);
  if (Math.abs(total) < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
  // Past an hour, the unit a person thinks of it in: `3 h 05 min`, and past two days `2 d 04 h`.
  const minutes = Math.round(ms / 60_000);
  if (Math.abs(minutes) < 48 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
  const hours = Math.round(ms / 3_600_000);
  return `${Math.floor(hours / 24)} d ${String(hours % 24).padStart(2, '0')} h`;
}

/** `30s`, `2m`, `1h`, `500ms`, `1m30s`, or seconds as a number, in a scenario; becomes milliseconds. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((value, context) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      context.addIssue({ code: 'custom', message: `"${value}" is not a duration; write it like 30s, 2m, 1h or 500ms` });
      return z.NEVER;
    }
    return ms;
  })
  .describe('A duration: 500ms, 30s, 2m, 1h, 1m30s, or a number of seconds');
