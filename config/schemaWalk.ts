/**
 * Walking a zod schema along the key path of an issue, following the data through wrappers (optional,
 * default, pipe…) and discriminated unions: to find what a key allows, and which keys a mapping takes.
 */
import { z } from 'zod';
import { PARSE_PARAMS } from './errors';

export type AnySchema = z.core.$ZodType;

/** The wrapper chain of a schema (optional, default, pipe…), outermost first. */
export function chain(schema: AnySchema): AnySchema[] {
  const out: AnySchema[] = [];
  let s: AnySchema | undefined = schema;
  while (s) {
    out.push(s);
    const def: z.core.$ZodTypeDef = s._zod.def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        s = (def as z.core.$ZodOptionalDef).innerType;
        break;
      case 'pipe':
        s = (def as z.core.$ZodPipeDef).in;
        break;
      default:
        s = undefined;
    }
  }
  return out;
}

export function core(schema: AnySchema): AnySchema {
  const c = chain(schema);
  return c[c.length - 1] ?? schema;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The option of a discriminated union that the data selects, if any. */
function unionOption(schema: AnySchema, data: unknown): AnySchema | undefined {
  const def = schema._zod.def as z.core.$ZodDiscriminatedUnionDef;
  if (typeof def.discriminator !== 'string' || !isRecord(data)) return undefined;
  const wanted = data[def.discriminator];
  return def.options.find((opt) => {
    const o = core(opt);
    if (o._zod.def.type !== 'object') return false;
    const disc = (o._zod.def as z.core.$ZodObjectDef).shape[def.discriminator];
    if (!disc) return false;
    const lit = core(disc);
    return lit._zod.def.type === 'literal' && (lit._zod.def as z.core.$ZodLiteralDef<z.core.util.Literal>).values.includes(wanted as z.core.util.Literal);
  });
}

/** Steps from a schema (already unwrapped, union resolved) into one key. */
function step(schema: AnySchema, key: PropertyKey): AnySchema | undefined {
  const def = schema._zod.def;
  if (def.type === 'object') return (def as z.core.$ZodObjectDef).shape[String(key)];
  if (def.type === 'record') return (def as z.core.$ZodRecordDef).valueType;
  if (def.type === 'array') return (def as z.core.$ZodArrayDef).element;
  return undefined;
}

/** Unwraps a schema and resolves a discriminated union against the data. */
export function settle(schema: AnySchema, data: unknown): AnySchema | undefined {
  const c = core(schema);
  if (c._zod.def.type === 'union') return unionOption(c, data);
  return c;
}

/** The schema found at `path` (not unwrapped), following the data through discriminated unions. */
export function schemaAt(root: AnySchema, data: unknown, path: readonly PropertyKey[]): AnySchema | undefined {
  let schema: AnySchema | undefined = root;
  let value: unknown = data;
  for (const key of path) {
    const settled: AnySchema | undefined = schema ? settle(schema, value) : undefined;
    if (!settled) return undefined;
    schema = step(settled, key);
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key as string] : undefined;
  }
  return schema;
}

export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) v = isRecord(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[key as string] : undefined;
  return v;
}

/**
 * Adds to the issues of a failed parse those of the values under keys a record refused (zod skips
 * them), so that a badly named fraise still gets its content checked: every problem at once.
 */
export function expandIssues(root: z.ZodType, data: unknown, first: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const issues: z.core.$ZodIssue[] = [];
  for (const issue of first) {
    issues.push(issue);
    if (issue.code !== 'invalid_key') continue;
    const parentPath = issue.path.slice(0, -1);
    const parent = schemaAt(root, data, parentPath);
    const record = parent ? settle(parent, valueAt(data, parentPath)) : undefined;
    if (record?._zod.def.type !== 'record') continue;
    const valueType = (record._zod.def as z.core.$ZodRecordDef).valueType;
    const sub = z.core.safeParse(valueType, valueAt(data, issue.path), PARSE_PARAMS);
    if (!sub.success) {
      const nested = sub.error.issues.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
      issues.push(...expandIssues(root, data, nested));
    }
  }
  return issues;
}

/** Keys an object schema at `path` accepts. */
export function knownKeys(root: AnySchema, data: unknown, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(root, data, path);
  const settled = s ? settle(s, valueAt(data, path)) : undefined;
  if (!settled || settled._zod.def.type !== 'object') return [];
  return Object.keys((settled._zod.def as z.core.$ZodObjectDef).shape);
}
