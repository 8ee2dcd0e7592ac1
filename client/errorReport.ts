import { CliError, EXIT } from './exitCodes';

export interface ErrorReport {
  exitCode: number;
  stderr: string;
  /** Printed on stdout when the user asked for --json. */
  json?: unknown;
}

/**
 * How the CLI reports an error that reached its top. A CliError is what fraisier says on purpose (bad input,
 * locked target, failed operation): its message and exit code. Anything else is fraisier's own bug: never
 * reported as bad input, but as an internal error (exit 1), with its stack and where to report it.
 */
export function reportError(err: unknown, wantsJson: boolean): ErrorReport {
  if (err instanceof CliError) {
    return {
      exitCode: err.exitCode,
      stderr: `fraisier: ${err.message}\n`,
      ...(wantsJson ? { json: { error: err.message, exitCode: err.exitCode, details: err.details ?? null } } : {}),
    };
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const message = 'internal error in fraisier (not a problem with your input): please report it with the command you ran and this output';
  return {
    exitCode: EXIT.failed,
    stderr: `fraisier: ${message}\n${text}\n`,
    ...(wantsJson ? { json: { error: message, internal: true, exitCode: EXIT.failed, details: text.split('\n')[0] } } : {}),
  };
}
