/**
 * Writes fraises.schema.json at the repository root: `npx tsx config/writeJsonSchema.ts`
 * (or `npm run schema`). A unit test fails when the committed file differs from what this writes.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fraisesJsonSchemaText } from './jsonSchema';

const SCHEMA_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fraises.schema.json');

await writeFile(SCHEMA_PATH, fraisesJsonSchemaText());
console.log(`wrote ${SCHEMA_PATH}`);
