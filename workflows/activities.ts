import { proxyActivities } from '@temporalio/workflow';
import type { FraisierActivities } from '../activities/operations';

/** Records: short, retried patiently (the database may be restarting); writes are idempotent. */
export const recordActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** One quick look at the provider (validate, preflight, a probe, logs, status). */
export const probeActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: ['ProviderInputError', 'InvalidTarget'],
  },
});

/** Changes on the target (deploy, rollback, stop, remove): long, heartbeating, few attempts. */
export const changeActivities = proxyActivities<FraisierActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 3,
    nonRetryableErrorTypes: ['ProviderInputError', 'InvalidTarget'],
  },
});
