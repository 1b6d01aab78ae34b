import type { ConnectionInfo } from '../engines/engine.js';
import { findPostgresBinaries } from '../engines/postgres-binaries.js';
import type { StrategyContext } from './strategy.js';

/** Full path of a PostgreSQL program matching the drill's server version. */
export async function pgTool(context: Pick<StrategyContext, 'version'>, name: string): Promise<string> {
  const { bindir } = await findPostgresBinaries(context.version);
  return `${bindir}/${name}`;
}

/** libpq host, port and user arguments, never a password (it goes through PGPASSWORD). */
export function pgConnectionArgs(connection: ConnectionInfo): string[] {
  return ['-h', connection.host, '-p', String(connection.port), '-U', connection.user];
}

export function pgEnv(connection: ConnectionInfo): Record<string, string> {
  return connection.password ? { PGPASSWORD: connection.password } : {};
}
