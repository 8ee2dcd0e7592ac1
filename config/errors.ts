/** A problem found in a configuration file, and how it is written: `<file>: <key.path>: <what>; allowed: <what is>`. */

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
