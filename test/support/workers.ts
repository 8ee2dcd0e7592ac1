import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../workers/main.ts', import.meta.url));

/** A worker process as `npm run worker` starts it, in a process group of its own (so it can be killed whole). */
export interface SpawnedWorker {
  child: ChildProcess;
  /** Its stdout and stderr so far. */
  output(): string;
  /** Resolves once it says it polls its queue; false when it did not within `ms`. */
  ready(ms?: number): Promise<boolean>;
  /** SIGKILL (no goodbye) or SIGTERM to its whole group; a group already gone is fine. */
  kill(signal?: NodeJS.Signals): void;
}

export function spawnWorker(env: Record<string, string>): SpawnedWorker {
  const child = spawn(process.execPath, [TSX_CLI, WORKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    ready: async (ms = 120_000) => {
      const end = Date.now() + ms;
      while (!out.includes('worker on') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      return out.includes('worker on');
    },
    kill: (signal = 'SIGTERM') => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // already gone
      }
    },
  };
}
