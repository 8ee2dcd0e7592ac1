import { CancellationScope, condition, isCancellation, patched, setHandler, sleep } from '@temporalio/workflow';
import type { DeployStarted, HealthReport, Readiness } from '../domain/release';
import { DEFAULT_POLL_MAX_SECONDS, type Target } from '../domain/target';
import { awaitActivities, probeActivities } from './activities';
import { ASYNC_WAIT } from './patches';
import { messageOf } from './failure';
import type { Progress } from './progress';
import { deploymentEndedSignal } from './signals';

/** How many pushed "it ended" hints a wait follows before it relies on its own looks alone. */
const MAX_HINTS = 3;

const DEFAULT_HEALTH_TIMEOUT_SECONDS = 60;
const DEFAULT_HEALTH_INTERVAL_SECONDS = 2;

/**
 * Waits until the release is up. An asynchronous deployment (one the provider gave an id: a Coolify build) is
 * waited for by one heartbeating activity, whatever its length, and cut short by a pushed deploymentEnded signal,
 * which is confirmed with the provider first. Otherwise durable timers between quick probes, backoff 1 s to 15 s.
 */
export async function waitUntilReady(
  target: Target,
  started: DeployStarted,
  timeoutSeconds: number,
  progress: Progress,
): Promise<Readiness> {
  if (started.providerRef && patched(ASYNC_WAIT)) return waitForDeployment(target, started, timeoutSeconds, progress);
  let waitedMs = 0;
  let pauseMs = 1_000;
  for (let probe = 1; ; probe++) {
    const readiness = await probeActivities.probeReadiness(target, started);
    if (readiness.state !== 'pending') return readiness;
    if (waitedMs >= timeoutSeconds * 1_000) {
      return { state: 'failed', detail: `not ready after ${timeoutSeconds}s (${probe} probes): ${readiness.detail}` };
    }
    progress.note(`probe ${probe}: ${readiness.detail}; next in ${pauseMs / 1000}s`);
    await sleep(pauseMs);
    waitedMs += pauseMs;
    pauseMs = Math.min(pauseMs * 2, 15_000);
  }
}

/**
 * Probes with durable timers of `intervalMs` between looks until a probe passes or `timeoutMs` has gone by; returns
 * the last report, with how many probes and how long it took. Each look that failed is noted on the progress.
 */
export async function probeUntilOk<R extends { ok: boolean; detail: string }>(
  probe: () => Promise<R>,
  o: { intervalMs: number; timeoutMs: number },
  progress: Progress,
): Promise<{ report: R; probes: number; waitedMs: number }> {
  let waitedMs = 0;
  for (let probes = 1; ; probes++) {
    const report = await probe();
    if (report.ok || waitedMs + o.intervalMs > o.timeoutMs) return { report, probes, waitedMs };
    progress.note(`probe ${probes}: ${report.detail}`);
    await sleep(o.intervalMs);
    waitedMs += o.intervalMs;
  }
}

/** Probes health at the configured interval until it passes or the configured timeout has gone by. */
export async function waitUntilHealthy(target: Target, progress: Progress): Promise<HealthReport> {
  const timeoutMs = (target.healthCheck?.timeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS) * 1_000;
  const intervalMs = Math.max(1, target.healthCheck?.intervalSeconds ?? DEFAULT_HEALTH_INTERVAL_SECONDS) * 1_000;
  const { report, probes, waitedMs } = await probeUntilOk(() => probeActivities.probeHealth(target), { intervalMs, timeoutMs }, progress);
  return report.ok ? report : { ...report, detail: `${report.detail} (still failing after ${probes} probes over ${waitedMs / 1000}s)` };
}

/** The asynchronous wait (see waitUntilReady). */
async function waitForDeployment(target: Target, started: DeployStarted, timeoutSeconds: number, progress: Progress): Promise<Readiness> {
  let hinted = false;
  setHandler(deploymentEndedSignal, ({ providerRef }) => {
    if (providerRef === started.providerRef) hinted = true;
  });
  const maxPause = target.bounds?.pollMaxSeconds ?? DEFAULT_POLL_MAX_SECONDS;
  for (let hints = 0; ; hints++) {
    progress.note(`waiting for ${started.providerRef}${hints > 0 ? ` (after ${hints} unconfirmed notification(s))` : ''}`);
    const scope = new CancellationScope();
    const looking = scope
      .run(() => awaitActivities(timeoutSeconds).awaitRelease(target, started, timeoutSeconds, maxPause))
      .catch((err: unknown): Readiness => {
        if (isCancellation(err)) throw err;
        return { state: 'failed', detail: `waiting for ${started.providerRef} failed: ${messageOf(err)}` };
      });
    if (hints >= MAX_HINTS) return looking;
    const first = await Promise.race([looking.then((r) => ({ r })), condition(() => hinted).then(() => undefined)]);
    if (first) return first.r;
    // Pushed: stop looking, and confirm with the provider (a notification is only a hint).
    scope.cancel();
    await looking.catch((err: unknown) => {
      if (!isCancellation(err)) throw err;
    });
    const confirmed = await probeActivities.probeReadiness(target, started);
    if (confirmed.state !== 'pending') return confirmed;
    hinted = false;
  }
}
