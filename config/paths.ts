import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** fraisier's own folder (where `npm start` keeps .data/ and setup puts .tools/), wherever it is run from. */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
