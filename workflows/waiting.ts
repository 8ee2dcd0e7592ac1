import { sleep } from '@temporalio/workflow';
import type { DeployStarted, HealthReport, Readiness } from '../domain/release';
import type { Target } from '../domain/target';
import { probeActivities } from './activities';
import type { Progress } from './progress';

const DEFAULT_HEALTH_TIMEOUT_SECONDS = 60;
const DEFAULT_HEALTH_INTERVAL_SECONDS = 2;

/** Waits durably (timers, not loops that spin) until the release is up, with backoff from 1 s to 15 s. */
export async function waitUntilReady(
  target: Target,
  started: DeployStarted,
  timeoutSeconds: number,
  progress: Progress,
): Promise<Readiness> {
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

/** Probes health at the configured interval until it passes or the configured timeout has gone by. */
export async function waitUntilHealthy(target: Target, progress: Progress): Promise<HealthReport> {
  const timeoutMs = (target.healthCheck?.timeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS) * 1_000;
  const intervalMs = Math.max(1, target.healthCheck?.intervalSeconds ?? DEFAULT_HEALTH_INTERVAL_SECONDS) * 1_000;
  let waitedMs = 0;
  for (let probe = 1; ; probe++) {
    const report = await probeActivities.probeHealth(target);
    if (report.ok || waitedMs + intervalMs > timeoutMs) {
      return report.ok ? report : { ...report, detail: `${report.detail} (still failing after ${probe} probes over ${waitedMs / 1000}s)` };
    }
    progress.note(`probe ${probe}: ${report.detail}`);
    await sleep(intervalMs);
    waitedMs += intervalMs;
  }
}
