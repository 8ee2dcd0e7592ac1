/**
 * The scale phase's ceiling: a workflow that runs N no-op activities one after the other, as a deploy runs its
 * activities, and nothing else. Bundled on its own for a second worker (its own task queue): not fraisier code.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface CeilingActivities {
  noop(step: number): Promise<number>;
}

// The records activities' options (workflows/activities.ts): short, retried.
const { noop } = proxyActivities<CeilingActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function ceilingChain(activities: number): Promise<number> {
  let done = 0;
  for (let step = 0; step < activities; step++) done += await noop(step);
  return done;
}
