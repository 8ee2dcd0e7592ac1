/**
 * What the docker_compose provider remembers of a target between runs (records database, TargetState): the
 * compose project its containers belong to, so cleanup finds them even once the compose file is gone, and the
 * images it deployed, so pruning removes only images fraisier put there.
 */
import { z } from 'zod';
import type { TargetState } from '../contract';

const stateSchema = z.object({
  project: z.string().optional(),
  images: z.array(z.string()).default([]),
});
export type ComposeTargetState = z.infer<typeof stateSchema>;

/** The stored state, or an empty one when there is none (or it is not ours). */
export async function loadComposeState(state: TargetState): Promise<ComposeTargetState> {
  const parsed = stateSchema.safeParse((await state.load()) ?? {});
  return parsed.success ? parsed.data : { images: [] };
}

/** Notes that `image` was deployed in `project`. */
export async function rememberDeployed(state: TargetState, project: string, image: string): Promise<void> {
  const current = await loadComposeState(state);
  const images = current.images.includes(image) ? current.images : [...current.images, image];
  await state.save({ project, images });
}
