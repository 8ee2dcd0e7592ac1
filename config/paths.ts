import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** fraisier's own folder (where `npm start` keeps .data/ and setup puts .tools/), wherever it is run from. */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Where fraisier keeps its own files (FRAISIER_DATA_DIR, else .data/ in its folder): the dev server's state, keys, project stacks. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(PACKAGE_ROOT, env.FRAISIER_DATA_DIR ?? '.data');
}
