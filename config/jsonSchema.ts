import { z } from 'zod';
import { fraisesFileSchema } from './schema';

/** `$id` of the generated schema (a URN: the schema is shipped in the repository, not served). */
export const FRAISES_SCHEMA_ID = 'urn:fraisier:fraises.schema.json';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema (draft 2020-12) of fraises.yaml, for editors: descriptions from the zod schema,
 * the environment's `config` chosen by its `provider` (a oneOf on a `const` provider).
 * Durations and defaults are described as written in the file (the schema's input side).
 */
export function fraisesJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(fraisesFileSchema, {
    target: 'draft-2020-12',
    io: 'input',
    // Refinements (cross-field rules) have no JSON Schema form; the loader checks them.
    unrepresentable: 'any',
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: FRAISES_SCHEMA_ID,
    title: 'fraises.yaml',
    ...rest,
  };
}

/** The schema as written to fraises.schema.json. */
export function fraisesJsonSchemaText(): string {
  return `${JSON.stringify(fraisesJsonSchema(), null, 2)}\n`;
}
