import type { WorkflowHandle } from '@temporalio/client';
import { queryProgress } from '../../client/follow';

/** Asks the workflow where it is until it is at one of `steps` (or the tries run out); returns the step it was at. */
export async function waitForStep(handle: WorkflowHandle, steps: readonly string[], tries = 600, pauseMs = 100): Promise<string> {
  let step = '';
  for (let i = 0; i < tries && !steps.includes(step); i++) {
    step = (await queryProgress(handle))?.current ?? '';
    if (!steps.includes(step)) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return step;
}
