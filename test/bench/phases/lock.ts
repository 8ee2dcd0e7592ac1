/** Phase 2: lock contention, N simultaneous starts on one target: one starts, the others are refused (exit 3). */
import { CliError, EXIT } from '../../../client/exitCodes';
import { lockHolder, STEP_QUERY_BUDGET_MS } from '../../../client/lock';
import { loadConfig } from '../../../config/load';
import { resolveTarget } from '../../../config/resolve';
import { startDeployUnderLock } from '../../support/deploys';
import type { Env } from '../env';
import { heading, ms, now, percentile, printTable, within } from '../report';

export async function benchLock(env: Env): Promise<void> {
  const { opts, client } = env;
  const heldQueue = `${env.taskQueue}-held`;
  heading(`2. lock contention: ${opts.racers} simultaneous startUnderLock calls on one target, queue "${heldQueue}" (no worker), ${opts.lockRounds} round(s)`);
  const config = await loadConfig(env.configFile);
  const target = resolveTarget(config, 'shop', 'staging');
  const rows: string[][] = [];
  for (let round = 1; round <= opts.lockRounds; round++) {
    const t0 = now();
    const settleTimes: Array<{ ok: boolean; at: number; locked: boolean; withStep?: boolean; error?: string }> = [];
    const attempts = Array.from({ length: opts.racers }, (_, i) =>
      startDeployUnderLock(client, target, 'v1', `racer-${i}`, heldQueue).then(
        (handle) => {
          settleTimes.push({ ok: true, at: now() - t0, locked: false });
          return handle;
        },
        (err: unknown) => {
          const locked = err instanceof CliError && err.exitCode === EXIT.locked;
          const withStep = locked && typeof (err.details as { step?: unknown } | undefined)?.step === 'string';
          settleTimes.push({ ok: false, at: now() - t0, locked, withStep, ...(locked ? {} : { error: (err as Error).message }) });
          throw err;
        },
      ),
    );
    const settled = await within(opts.phaseTimeoutMs, 'lock round', Promise.allSettled(attempts));
    const allMs = now() - t0;
    const winners = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const refusals = settleTimes.filter((s) => !s.ok);
    const lockedRefusals = refusals.filter((s) => s.locked);
    const other = refusals.filter((s) => !s.locked);
    const winnerAt = settleTimes.find((s) => s.ok)?.at ?? Number.NaN;
    const refusalTimes = refusals.map((s) => s.at);
    // What one refusal costs on its own, no contention: describe + progress query of the (unpolled) holder.
    const tHolder = now();
    await within(30_000, 'lockHolder', lockHolder(client, target));
    const holderMs = now() - tHolder;
    for (const w of winners) await w.terminate('benchmark: lock round over').catch(() => undefined);
    rows.push([
      String(round),
      `${winners.length} started / ${lockedRefusals.length} refused${other.length ? ` / ${other.length} other errors` : ''}`,
      ms(winnerAt),
      ms(percentile(refusalTimes, 0)),
      ms(percentile(refusalTimes, 50)),
      ms(percentile(refusalTimes, 95)),
      ms(percentile(refusalTimes, 100)),
      `${lockedRefusals.filter((r) => r.withStep).length}/${lockedRefusals.length}`,
      ms(allMs),
      ms(holderMs),
    ]);
    if (other.length) console.log(`  round ${round}: other error: ${other[0]?.error ?? '?'}`);
  }
  printTable(['round', 'outcome', 'winner ms', 'refusal min', 'median', 'p95', 'max', 'with step', 'all settled ms', 'lockHolder alone'], rows);
  console.log(
    `  (refusal: ms from the simultaneous start to exit code 3; it describes the holder and asks its step for at most ${STEP_QUERY_BUDGET_MS} ms, best-effort: no worker polls the holder's queue here, so no refusal carries a step)`,
  );
}
