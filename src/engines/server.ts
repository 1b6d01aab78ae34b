/**
 * How an engine's server is initialized and run, as data a provider can act on without knowing
 * which engine it is: the program and arguments, the account, the stop signal. Providers decide
 * *where* (a process on this machine, a process in a container); engines decide *what*.
 */

/** Paths as the server and its tools see them (this machine's, or the container's). */
export interface ServerPaths {
  /** The data directory. */
  data: string;
  /** A directory of the instance's own, writable by the server's account: sockets, pid file, temp files. */
  scratch: string;
}

/** A program of the engine's (resolved by the provider) and its arguments. */
export interface ServerCommand {
  program: string;
  args: string[];
}

/** What a server needs so clients on other hosts can connect, as data a provider applies in one go. */
export interface NetworkAccess {
  /** Lines a file must hold (appended when missing: a restored data directory may have them already). */
  lines?: { file: string; lines: string[] };
  /** Files to write whole. */
  files?: Array<{ path: string; content: string }>;
  /** Settings to start the server with. */
  settings: Record<string, string>;
}

export interface ServerProfile {
  /** The system account the server and its tools run as. */
  readonly serviceUser: string;
  /** The port the server listens on inside a container (a local server gets a free one). */
  readonly defaultPort: number;
  /** Where the engine's programs can be in an image or install, when they are not on PATH (globs). */
  readonly programDirs: readonly string[];
  /** The signal that makes the server shut down cleanly. */
  readonly stopSignal: 'SIGINT' | 'SIGTERM';
  /** The major version of a server version, as scenarios pin it (`15.18` → `15`, `10.11.6` → `10.11`). */
  majorOf(version: string): string;
  /** The account and database an empty, initialized server is reached with. */
  readonly admin: { user: string; database: string };
  /** The command that creates an empty cluster in `paths.data` (which does not exist yet). */
  initialize(paths: ServerPaths): ServerCommand;
  /** The command that runs the server in the foreground. */
  run(paths: ServerPaths, listen: { address: string; port: number }, settings: Readonly<Record<string, string>>): ServerCommand;
  /**
   * Lets clients on other hosts connect (a container is reached from the host and from other
   * containers, never from loopback): what to change before the server starts, and settings to
   * start it with.
   */
  networkAccess(paths: ServerPaths): NetworkAccess;
}

/** An installation of the engine's programs on this machine. */
export interface Installation {
  /** Full version of the server binaries (`15.18`, `10.11.19`). */
  version: string;
  /** Major version as scenarios pin it (`15`, `10.11`). */
  major: string;
  /** The path of one of the engine's programs, or undefined for programs that are not the engine's (tar, cat). */
  program(name: string): string | undefined;
}
