import type { LocatedTransaction } from './engine.js';

/**
 * Reads the lines the locate programs print (`transaction rows position committed…`) into
 * transactions. Both engines' awk programs print this shape, so the parsing is shared.
 */
export function parseLocated(stdout: string): LocatedTransaction[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[1]!))
    .map(([transaction, rows, position, ...committed]) => ({ transaction: transaction!, rows: Number(rows), position: position!, committed: committed.join(' ') }));
}
