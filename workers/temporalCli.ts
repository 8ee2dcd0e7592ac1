import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths';

export const PINNED_TEMPORAL_CLI = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** The temporal CLI: $TEMPORAL_CLI, else the one `npm run setup` built into .tools/bin, else one on PATH. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) {
    if (!existsSync(env.TEMPORAL_CLI)) throw new Error(`TEMPORAL_CLI=${env.TEMPORAL_CLI} does not exist; unset it or point it at a temporal binary`);
    return env.TEMPORAL_CLI;
  }
  const built = join(PACKAGE_ROOT, '.tools', 'bin', 'temporal');
  if (existsSync(built)) return built;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  throw new Error(`no temporal CLI found: run "npm run setup" (it builds ${PINNED_TEMPORAL_CLI} into .tools/bin), or set TEMPORAL_CLI`);
}
