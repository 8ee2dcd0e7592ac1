import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { CLEANUP_SCHEDULE_ID, CLEANUP_SCHEDULED_WORKFLOW_ID } from '../domain/ids';
import { cleanup } from '../workflows/cleanup';

/** Creates the hourly cleanup schedule unless it exists (overlap SKIP: a slow run is never doubled). */
export async function ensureCleanupSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: CLEANUP_SCHEDULE_ID,
      spec: { intervals: [{ every: '1h' }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
      action: {
        type: 'startWorkflow',
        workflowType: cleanup,
        workflowId: CLEANUP_SCHEDULED_WORKFLOW_ID,
        taskQueue,
        args: [{}],
        workflowExecutionTimeout: '2 hours',
      },
      memo: { description: 'fraisier: stops and removes expired ephemeral deployments' },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
