/**
 * The only place where fraisier starts processes. Commands are argv arrays, never shell strings.
 */
import { constants as osConstants } from 'node:os';
import { execa } from 'execa';
import type { CommandResult, CommandRunner, CommandSpec } from './commandRunner';

/** Default upper bound for a command that did not say how long it may take. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60_000;

/** A short, readable rendering of an argv for messages (quotes elements with unusual characters). */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly argv: readonly string[],
    readonly cwd: string,
    readonly reason: 'spawn' | 'timeout' | 'cancelled' | 'invalid',
  ) {
    super(message);
  }
}

function signalNumber(signal: string | undefined): number {
  if (!signal) return 1;
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return n ?? 1;
}

export function createCommandRunner(): CommandRunner {
  return async (command: CommandSpec, options?: { signal?: AbortSignal }): Promise<CommandResult> => {
    const cwd = command.cwd ?? process.cwd();
    const [file, ...args] = command.argv;
    const shown = describeArgv(command.argv);
    if (file === undefined || file === '') {
      throw new CommandError(`cannot run an empty command (cwd ${cwd})`, command.argv, cwd, 'invalid');
    }
    const timeout = command.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const result = await execa(file, args, {
      shell: false,
      reject: false,
      cwd,
      env: command.env ? { ...command.env } : undefined,
      extendEnv: true,
      timeout,
      cancelSignal: options?.signal,
      ...(command.input !== undefined ? { input: command.input } : { stdin: 'ignore' as const }),
      stripFinalNewline: true,
    });
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    if (result.timedOut) {
      throw new CommandError(`\`${shown}\` (cwd ${cwd}) timed out after ${timeout} ms`, command.argv, cwd, 'timeout');
    }
    if (result.isCanceled) {
      throw new CommandError(`\`${shown}\` (cwd ${cwd}) was cancelled`, command.argv, cwd, 'cancelled');
    }
    if (typeof result.exitCode === 'number') {
      return { argv: command.argv, exitCode: result.exitCode, stdout, stderr };
    }
    if (result.signal) {
      // Killed by a signal nobody here sent (OOM killer, operator): report it like a shell would, 128 + signal.
      return {
        argv: command.argv,
        exitCode: 128 + signalNumber(result.signal),
        stdout,
        stderr: `${stderr}${stderr ? '\n' : ''}(killed by ${result.signal})`,
      };
    }
    const cause = result.cause instanceof Error ? result.cause.message : (result.shortMessage ?? 'unknown reason');
    throw new CommandError(`could not run \`${shown}\` (cwd ${cwd}): ${cause}`, command.argv, cwd, 'spawn');
  };
}
