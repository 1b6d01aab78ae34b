import type { ConnectionInfo } from '../engines/engine.js';
import { findPostgresBinaries } from '../engines/postgres-binaries.js';
import type { StrategyContext } from './strategy.js';

/** Full path of a PostgreSQL program matching the drill's server version. */
export async function pgTool(context: Pick<StrategyContext, 'version'>, name: string): Promise<string> {
  const { bindir } = await findPostgresBinaries(context.version);
  return `${bindir}/${name}`;
}

/** libpq connection arguments, never a password (it goes through PGPASSWORD). */
export function pgConnectionArgs(connection: ConnectionInfo, database = connection.database): string[] {
  return ['-h', connection.host, '-p', String(connection.port), '-U', connection.user, '-d', database];
}

export function pgEnv(connection: ConnectionInfo): Record<string, string> {
  return connection.password ? { PGPASSWORD: connection.password } : {};
}
