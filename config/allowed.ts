/** What a schema allows, in words, for the `allowed:` part of error messages. */
import { z } from 'zod';
import { allowedHints } from './hints';
import { chain, type AnySchema } from './schemaWalk';

export function describeKind(schema: AnySchema): string {
  const def = schema._zod.def;
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values((def as z.core.$ZodEnumDef).entries).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'literal':
      return (def as z.core.$ZodLiteralDef<z.core.util.Literal>).values.map((v) => JSON.stringify(v)).join(' or ');
    case 'object':
      return `a mapping with the keys ${Object.keys((def as z.core.$ZodObjectDef).shape).join(', ')}`;
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return 'see the configuration reference';
  }
}

/** What a schema allows, for messages: the `allowed` hint, else the description, else its kind. */
export function allowedFor(schema: AnySchema | undefined): string | undefined {
  if (!schema) return undefined;
  const c = chain(schema);
  for (const s of c) {
    const hint = allowedHints.get(s);
    if (hint) return hint.allowed;
  }
  const last = c[c.length - 1];
  if (last && ['enum', 'literal', 'boolean'].includes(last._zod.def.type)) return describeKind(last);
  for (const s of c) {
    const meta = z.globalRegistry.get(s);
    if (meta?.description) return meta.description.replace(/\.$/, '');
  }
  return last ? describeKind(last) : undefined;
}
