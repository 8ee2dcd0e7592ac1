import { z } from 'zod';

/**
 * "What is allowed here", for error messages. Kept in a registry of its own (not zod's global one) so
 * that it does not leak into the generated JSON Schema, where `description` already says it.
 */
export const allowedHints = z.registry<{ allowed: string }>();

/** Attaches the "allowed" text of error messages to a schema, and returns the schema. */
export function allowed<T extends z.ZodType>(schema: T, text: string): T {
  allowedHints.add(schema, { allowed: text });
  return schema;
}
