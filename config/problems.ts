/** Turns the issues of a failed zod parse into ConfigProblems: one per wrong key, saying what is wrong and what is allowed. */
import type { z } from 'zod';
import { quote } from '../domain/names';
import { suggest } from '../domain/suggest';
import { allowedFor } from './allowed';
import { DEFAULT_MESSAGE, formatPath, type ConfigProblem } from './errors';
import { isRecord, knownKeys, schemaAt, settle, valueAt, type AnySchema } from './schemaWalk';

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
