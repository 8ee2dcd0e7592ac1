/** The CLI's exit codes; scripts rely on them. */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed (a failed deploy, even when it rolled back). */
  failed: 1,
  /** Bad input or config, or Temporal / the database cannot be reached. Nothing was started. */
  badInput: 2,
  /** The target is locked by another operation. */
  locked: 3,
} as const;

/** An error the CLI reports as one message with an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
