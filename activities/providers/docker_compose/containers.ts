/** What `docker container inspect` says of the service's container, and the verdicts fraisier draws from it. */
import { z } from 'zod';
import type { CommandResult } from '../../commandRunner';

export const containerSchema = z.object({
  Id: z.string(),
  Created: z.string(),
  Image: z.string(),
  Config: z.object({
    Image: z.string(),
    Labels: z.record(z.string(), z.string()).nullish(),
  }),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    ExitCode: z.number(),
    Error: z.string().optional(),
    Health: z
      .object({
        Status: z.string(),
        FailingStreak: z.number().optional(),
        Log: z.array(z.object({ ExitCode: z.number(), Output: z.string() })).nullish(),
      })
      .nullish(),
  }),
});
export type ContainerInfo = z.infer<typeof containerSchema>;

export function tail(text: string, max = 800): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

/** A command that exited non-zero, as an error saying what fraisier was doing. */
export function failure(what: string, r: CommandResult): Error {
  const out = tail(r.stderr || r.stdout);
  return new Error(`${what} failed (exit ${r.exitCode}, \`${r.argv.join(' ')}\`)${out ? `: ${out}` : ''}`);
}

export interface ContainerVerdict {
  state: 'ready' | 'pending' | 'failed';
  detail: string;
  hasHealthcheck: boolean;
}

/** Health of a container as the contract's verdicts. */
export function containerVerdict(c: ContainerInfo): ContainerVerdict {
  const name = `container ${c.Id.slice(0, 12)} (${c.Config.Image})`;
  const health = c.State.Health;
  if (!c.State.Running) {
    if (c.State.Status === 'exited' || c.State.Status === 'dead') {
      const err = c.State.Error ? `, ${c.State.Error}` : '';
      return { state: 'failed', detail: `${name} is ${c.State.Status} with exit code ${c.State.ExitCode}${err}`, hasHealthcheck: !!health };
    }
    return { state: 'pending', detail: `${name} is ${c.State.Status} (last exit code ${c.State.ExitCode})`, hasHealthcheck: !!health };
  }
  if (!health) return { state: 'ready', detail: `${name} is running (no HEALTHCHECK)`, hasHealthcheck: false };
  const last = health.Log?.at(-1);
  const lastText = last ? `; last check exit ${last.ExitCode}${last.Output.trim() ? `: ${tail(last.Output, 300)}` : ''}` : '';
  switch (health.Status) {
    case 'healthy':
      return { state: 'ready', detail: `${name} is healthy`, hasHealthcheck: true };
    case 'unhealthy':
      return { state: 'failed', detail: `${name} is unhealthy (${health.FailingStreak ?? '?'} failed checks${lastText})`, hasHealthcheck: true };
    default:
      return { state: 'pending', detail: `${name} health is ${health.Status}${lastText}`, hasHealthcheck: true };
  }
}

/** Container ids in the output of `ps -q` / `container ls -q`. */
export function containerIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-f]{12,64}$/.test(l));
}
