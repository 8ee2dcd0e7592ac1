import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, PARSE_PARAMS, type ConfigProblem } from './errors';
import { problemsFromIssues } from './problems';
import { expandIssues } from './schemaWalk';
import { fraisesFileSchema, type FraisesConfig } from './schema';

export { ConfigError, type ConfigProblem } from './errors';
export type { FraisesConfig } from './schema';

/** The file read when no `--config <file>` is given, in the current directory. */
export const DEFAULT_CONFIG_FILE = 'fraises.yaml';

/** Finds the node of a key path in the YAML document: the key itself when the path ends on one. */
function locate(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return found;
      found = (isScalar(pair.key) ? pair.key : found) as Node | undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node && typeof node === 'object' && 'range' in node) found = node as Node;
    } else {
      return found;
    }
  }
  return found;
}

/**
 * Parses and validates the text of a fraises.yaml. `fileLabel` names the file in messages and its
 * directory becomes `configDir`. Throws a ConfigError listing every problem found.
 */
export function parseConfigText(text: string, fileLabel: string = DEFAULT_CONFIG_FILE): FraisesConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: ConfigProblem[] = doc.errors.map((err) => {
      const pos = lineCounter.linePos(err.pos[0]);
      const what = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '') ?? err.message;
      return {
        path: `line ${pos.line}:${pos.col}`,
        message: `YAML syntax error: ${what}`,
        allowed: 'valid YAML (check the indentation, quotes and colons around this line)',
        line: pos.line,
        col: pos.col,
      };
    });
    throw new ConfigError(fileLabel, problems);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    throw new ConfigError(fileLabel, [
      { path: '(top level)', message: 'the file is empty', allowed: 'a mapping with a "fraises:" key (see examples/fraises.yaml)' },
    ]);
  }
  const result = fraisesFileSchema.safeParse(data, PARSE_PARAMS);
  if (!result.success) {
    const at = (path: readonly PropertyKey[]) => {
      const node = locate(doc, path);
      if (!node?.range) return undefined;
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, col: pos.col };
    };
    throw new ConfigError(fileLabel, problemsFromIssues(fraisesFileSchema, data, expandIssues(fraisesFileSchema, data, result.error.issues), at));
  }
  const configDir = dirname(resolve(fileLabel));
  return { ...result.data, file: fileLabel, configDir };
}

/** Reads, parses and validates a fraises.yaml; throws a ConfigError listing every problem. */
export async function loadConfig(file: string = DEFAULT_CONFIG_FILE): Promise<FraisesConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const tried = resolve(file);
    const message =
      code === 'ENOENT'
        ? `file not found (tried ${tried})`
        : code === 'EISDIR'
          ? `is a directory (tried ${tried})`
          : `cannot be read (tried ${tried}): ${(err as Error).message}`;
    throw new ConfigError(file, [
      {
        path: '(file)',
        message,
        allowed: `a readable fraises.yaml; run fraisier from the directory that holds it, or point to it with --config <file>`,
      },
    ]);
  }
  return parseConfigText(text, file);
}
