import { proxyActivities } from '@temporalio/workflow';
import type { FraisierActivities } from '../activities/index';
import { DEFAULT_BOUNDS, type Target } from '../domain/target';

/** Failures that retrying will not fix. */
const NON_RETRYABLE = ['ProviderInputError', 'InvalidTarget'];

/**
 * A dead worker's activity is noticed when its heartbeats stop for this long (they are sent every second while
 * a provider call runs, see activities/providerContext.ts), then retried on another worker after 1 s.
 */
export const HEARTBEAT_TIMEOUT = '5 seconds';

/**
 * Records: short, retried patiently (the database may be restarting); writes are idempotent. They do not
 * heartbeat, so the start-to-close timeout is also how long a dead worker's write waits before another worker
 * retries it: a write takes milliseconds, 10 s leaves room for a busy database.
 */
export const recordActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** One quick look at the provider (validate, preflight, a probe, logs, status): a passing fault is retried, up to 8 attempts within 3 minutes. */
export const probeActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Changes on the target (deploy, rollback, cancel, prune, stop, remove): bounded by the target's own
 * `changeSeconds` (its provider's default or the environment's deploy_timeout), heartbeating, few attempts.
 */
export function changeActivities(target: Target) {
  return proxyActivities<FraisierActivities>({
    startToCloseTimeout: (target.bounds ?? DEFAULT_BOUNDS).changeSeconds * 1_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

/**
 * Waiting for an asynchronous deployment: one activity for the whole wait (its own bound, plus room to report),
 * heartbeating every second while it sleeps between looks, retried after a dead worker from where it was.
 */
export function awaitActivities(timeoutSeconds: number) {
  return proxyActivities<FraisierActivities>({
    startToCloseTimeout: (timeoutSeconds + 60) * 1_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

/** Reconciling records with Temporal: a page of describes, heartbeating. */
export const reconcileActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});
