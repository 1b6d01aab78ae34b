/**
 * Removes secrets a server writes into its own log: a statement that failed is logged with its
 * text, and `ALTER ROLE x PASSWORD '...'` or `IDENTIFIED BY '...'` would carry the password into
 * a report.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(PASSWORD\s*(?:=\s*)?(?:\(\s*)?)'(?:[^']|'')*'/gi, "$1'[redacted]'")
    .replace(/\b(IDENTIFIED\s+(?:BY|WITH\s+\S+\s+(?:BY|AS)))\s*'(?:[^']|'')*'/gi, "$1 '[redacted]'");
}
