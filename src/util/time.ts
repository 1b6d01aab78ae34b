/** A server timestamp in microseconds since the epoch, ISO with all six digits. */
export function formatServerTime(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(Math.round(us - ms * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${micros}Z`);
}
