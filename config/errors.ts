import { z } from 'zod';
import { allowedHints } from './hints';
import { quote } from '../domain/names';
import { suggest } from '../domain/suggest';

/** One problem found in a configuration file. */
export interface ConfigProblem {
  /** Key path, e.g. `fraises.my_api.providers.staging.config.compose_file`; `(file)` or `line 3:7` when there is none. */
  path: string;
  /** What is wrong. */
  message: string;
  /** What is allowed instead. */
  allowed: string;
  /** 1-based position in the file, when known. */
  line?: number;
  col?: number;
}

export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}: ${p.path}: ${p.message}; allowed: ${p.allowed}`;
}

/** A configuration that cannot be used; the message lists every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
  }
}

/** `fraises.my_api.providers["bad name"]`: dotted where the key is a plain word, bracketed otherwise. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z0-9_$-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** Marks messages that zod produced itself, so that messages written in a schema can be told apart. */
export const DEFAULT_MESSAGE = '\u0000default';

/** Parse options for config validation: inputs kept in issues, zod's own messages replaced by the marker. */
export const PARSE_PARAMS = { reportInput: true, error: () => DEFAULT_MESSAGE } as const;

// ---------------------------------------------------------------------------------------------
// Walking the schema along an issue's path, to find what the key allows.

type AnySchema = z.core.$ZodType;

/** The wrapper chain of a schema (optional, default, pipe…), outermost first. */
function chain(schema: AnySchema): AnySchema[] {
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

function core(schema: AnySchema): AnySchema {
  const c = chain(schema);
  return c[c.length - 1] ?? schema;
}

function isRecord(v: unknown): v is Record<string, unknown> {
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
function settle(schema: AnySchema, data: unknown): AnySchema | undefined {
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

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
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
function knownKeys(root: AnySchema, data: unknown, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(root, data, path);
  const settled = s ? settle(s, valueAt(data, path)) : undefined;
  if (!settled || settled._zod.def.type !== 'object') return [];
  return Object.keys((settled._zod.def as z.core.$ZodObjectDef).shape);
}

function describeKind(schema: AnySchema): string {
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

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

function typeName(v: unknown): string {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return `${v}`;
  return typeof v;
}


const SECRET_KEY = /token|secret|password|passwd|api_?key/i;

/** Turns the issues of a failed parse into problems, one per wrong key. */
export function problemsFromIssues(
  root: AnySchema,
  data: unknown,
  issues: readonly z.core.$ZodIssue[],
  locate: (path: readonly PropertyKey[]) => { line: number; col: number } | undefined = () => undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const out = {
    push(p: ConfigProblem, at: readonly PropertyKey[]): void {
      problems.push({ ...p, ...locate(at) });
    },
  };
  for (const issue of issues) {
    const path = issue.path;
    const leaf = schemaAt(root, data, path);
    const input = 'input' in issue ? issue.input : valueAt(data, path);
    const custom = issue.message !== DEFAULT_MESSAGE ? issue.message : undefined;
    const params = issue.code === 'custom' ? issue.params : undefined;
    const paramAllowed = typeof params?.allowed === 'string' ? params.allowed : undefined;
    const fallbackAllowed = paramAllowed ?? allowedFor(leaf) ?? custom ?? 'see the configuration reference';

    switch (issue.code) {
      case 'unrecognized_keys': {
        const keys = knownKeys(root, data, path);
        for (const key of issue.keys) {
          const guess = suggest(key, keys);
          let allowedText = keys.length > 0 ? keys.join(', ') : 'no other keys';
          if (SECRET_KEY.test(key) && !key.endsWith('_env')) {
            allowedText += ' (secrets never go in this file: name the environment variable that holds them instead)';
          }
          out.push({
            path: formatPath([...path, key]),
            message: guess ? `unknown key (did you mean "${guess}"?)` : 'unknown key',
            allowed: allowedText,
          }, [...path, key]);
        }
        break;
      }
      case 'invalid_key': {
        const inner = issue.issues[0];
        const keySchema = ((): AnySchema | undefined => {
          const parent = schemaAt(root, data, path.slice(0, -1));
          const settled = parent ? settle(parent, valueAt(data, path.slice(0, -1))) : undefined;
          return settled?._zod.def.type === 'record' ? (settled._zod.def as z.core.$ZodRecordDef).keyType : undefined;
        })();
        out.push({
          path: formatPath(path),
          message: `invalid name ${quote(issue.input ?? path[path.length - 1])}`,
          allowed: allowedFor(keySchema) ?? (inner && inner.message !== DEFAULT_MESSAGE ? inner.message : 'a valid name'),
        }, path);
        break;
      }
      case 'invalid_union': {
        const disc = issue.discriminator;
        if (disc !== undefined && 'options' in issue) {
          // A discriminated union whose key (provider, type) matched nothing: the path ends with it.
          const value = isRecord(input) ? input[disc] : undefined;
          const options = (issue.options ?? []).map(String);
          const guess = typeof value === 'string' ? suggest(value, options) : undefined;
          out.push({
            path: formatPath(path),
            message:
              value === undefined
                ? 'required'
                : `unknown ${disc} ${quote(value)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
            allowed: options.join(', '),
          }, path);
        } else {
          out.push({ path: formatPath(path), message: `${typeName(input)} is not valid`, allowed: fallbackAllowed }, path);
        }
        break;
      }
      case 'invalid_type': {
        if (input === undefined) {
          out.push({ path: formatPath(path), message: 'required', allowed: fallbackAllowed }, path);
        } else {
          const expected = EXPECTED[issue.expected] ?? issue.expected;
          out.push({ path: formatPath(path), message: `expected ${expected}, got ${typeName(input)}`, allowed: fallbackAllowed }, path);
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const isLength = issue.origin === 'string' || issue.origin === 'array';
        const what = isLength
          ? `${issue.origin === 'string' ? 'length' : 'number of items'} must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}`
          : `${typeName(input)} is ${issue.code === 'too_small' ? 'too small' : 'too large'}`;
        out.push({ path: formatPath(path), message: isLength ? `${typeName(input)}: ${what}` : what, allowed: fallbackAllowed }, path);
        break;
      }
      case 'custom': {
        out.push({
          path: formatPath(path),
          message: paramAllowed !== undefined && custom ? custom : `${typeName(input)} is not valid`,
          allowed: paramAllowed ?? allowedFor(leaf) ?? custom ?? 'see the configuration reference',
        }, path);
        break;
      }
      default: {
        out.push({ path: formatPath(path), message: `${typeName(input)} is not valid`, allowed: fallbackAllowed }, path);
      }
    }
  }
  return problems;
}
