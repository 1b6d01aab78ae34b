/** Exit codes a CI job gates on (DESIGN.md). */
export const ExitCode = {
  passed: 0,
  breached: 1,
  couldNotRun: 2,
  interrupted: 130,
} as const;

/**
 * An error that stops a drill before it can measure anything: bad scenario, missing tool,
 * a server that would not start. `hint` says what to do next.
 */
export class DrillSetupError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'DrillSetupError';
  }
}

/** The user pressed Ctrl-C or the process got SIGTERM. */
export class InterruptedError extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
