/**
 * Commands are plain data (an argv array and where to run it), built by pure functions in each provider
 * and executed only here. Nothing is ever passed through a shell.
 */
export interface CommandSpec {
  argv: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  /** Written to the command's standard input. */
  input?: string;
  timeoutMs?: number;
}

export interface CommandResult {
  argv: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Resolves with the exit code (non-zero included); rejects only when the command could not run or timed out. */
export type CommandRunner = (command: CommandSpec, options?: { signal?: AbortSignal }) => Promise<CommandResult>;
