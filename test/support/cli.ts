import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const BIN = fileURLToPath(new URL('../../client/bin.mjs', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when the command was given --json. */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the real `fraisier` CLI in a child process, the way a user does. */
export async function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 180_000): Promise<CliRun> {
  const r = await execa(process.execPath, [BIN, ...args], { env, reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return {
    code: r.exitCode ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json: <T,>() => {
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${r.exitCode}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
      }
    },
  };
}

/** Starts the real `fraisier` CLI for a command that runs until stopped (`webhooks serve`); the caller kills it. */
export function spawnCli(args: readonly string[], env: Record<string, string>) {
  return execa(process.execPath, [BIN, ...args], { env, reject: false, stdin: 'ignore', buffer: true });
}
