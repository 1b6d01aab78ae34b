import pino, { type Logger } from 'pino';

/**
 * The drill log: pino JSON lines in a file beside the journal. Secrets never reach it:
 * every command line is redacted before it is logged (see exec.ts), and the redact paths
 * catch structured fields that could hold one.
 */
export function createFileLogger(path: string | undefined, level = 'info'): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: ['password', '*.password', 'secret', '*.secret', 'env.PGPASSWORD', 'env.MYSQL_PWD'], censor: '[redacted]' },
  };
  if (!path) return pino({ ...options, enabled: false });
  return pino(options, pino.destination({ dest: path, sync: true, mkdir: true }));
}
