/**
 * Provider-side pruning: removes the local images of releases fraisier deployed to this target that are no
 * longer recorded. Only images this target deployed (its TargetState) are candidates; an image a kept release
 * needs (by reference or by id) is never touched; removal is never forced, so an image a container uses stays.
 */
import type { DockerComposeConfig } from '../../../config/providers/docker_compose';
import type { PruneReport, ReleaseData } from '../../../domain/release';
import type { ProviderContext } from '../contract';
import * as cmd from './commands';
import { tail } from './containers';
import type { DockerAccess } from './docker';
import type { Setup } from './setup';
import { loadComposeState } from './targetState';

/** The images of `deployed` that pruning may remove, given the releases to keep. */
export function pruneCandidates(deployed: readonly string[], keep: readonly ReleaseData[]): string[] {
  const keptRefs = new Set(keep.map((r) => r.artifact.image).filter((r): r is string => r !== undefined));
  return deployed.filter((ref) => !keptRefs.has(ref));
}

export async function pruneImages(
  ctx: ProviderContext<DockerComposeConfig>,
  docker: DockerAccess,
  setup: Setup,
  keep: ReleaseData[],
): Promise<PruneReport> {
  const state = await loadComposeState(ctx.state);
  const keptIds = new Set(keep.map((r) => r.artifact.imageId).filter((id): id is string => id !== undefined));
  const removed: string[] = [];
  const gone: string[] = [];
  const notes: string[] = [];
  for (const ref of pruneCandidates(state.images, keep)) {
    const id = await docker.localImageId(ctx, setup, ref);
    if (id === undefined) {
      gone.push(ref); // removed by someone else: forget it
      continue;
    }
    if (keptIds.has(id)) {
      notes.push(`${ref} is the image of a kept release`);
      continue;
    }
    const r = await ctx.run(cmd.removeImage(setup.docker, ref));
    if (r.exitCode === 0 || /no such image/i.test(r.stderr)) {
      removed.push(ref);
    } else {
      notes.push(`${ref}: ${tail(r.stderr || r.stdout, 200)}`);
    }
  }
  const kept = keep.map((r) => r.artifact.image ?? r.version);
  const images = state.images.filter((ref) => !removed.includes(ref) && !gone.includes(ref));
  await ctx.state.save({ ...(state.project ? { project: state.project } : {}), images });
  const detail =
    removed.length === 0
      ? `no old image to remove (${kept.length} kept)`
      : `removed ${removed.length} old image(s): ${removed.join(', ')}; kept ${kept.join(', ')}`;
  return { removed, kept, detail: notes.length > 0 ? `${detail}; left: ${notes.join('; ')}` : detail };
}
