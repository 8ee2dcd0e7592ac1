/**
 * Dotenv files as docker compose reads them (its `.env` and `env_file:`), shared by the docker_compose provider
 * and projects: minimal, lossless editing (only the lines assigning the variable change, every other line,
 * comments, blank lines, other variables, line endings, stays as it was), and writing a value so that compose
 * v1 and v2 both read it back as it was.
 */

/** A variable name compose accepts in an env file. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = new RegExp(`^(\\s*)(export\\s+)?(${ENV_NAME_PATTERN.source.slice(1, -1)})\\s*=(.*)$`);

function unquote(raw: string): string {
  const value = raw.trim();
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'")) {
    const end = value.indexOf(value[0], 1);
    if (end > 0) return value.slice(1, end);
  }
  // Unquoted: an inline comment starts at " #".
  const hash = value.search(/\s#/);
  return (hash >= 0 ? value.slice(0, hash) : value).trim();
}

/** The value the file gives `name` (the last assignment wins, as in compose), or undefined. */
export function readEnvVariable(text: string, name: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = ASSIGNMENT.exec(line);
    if (m && m[3] === name) found = unquote(m[4] ?? '');
  }
  return found;
}

/** All assignments of the file, for interpolation (last one wins). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = ASSIGNMENT.exec(line);
    if (m?.[3]) out[m[3]] = unquote(m[4] ?? '');
  }
  return out;
}

/**
 * Sets `name=value`: every assignment of `name` is rewritten in place (keeping an `export ` prefix and the
 * indentation); when there is none, the line is appended. `value` must already be validated (no quoting needed).
 */
export function setEnvVariable(text: string, name: string, value: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.split(/\r?\n/);
  const endsWithNewline = text === '' || text.endsWith('\n');
  if (endsWithNewline && lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let replaced = false;
  const out = lines.map((line) => {
    const m = ASSIGNMENT.exec(line);
    if (!m || m[3] !== name) return line;
    replaced = true;
    return `${m[1] ?? ''}${m[2] ?? ''}${name}=${value}`;
  });
  if (!replaced) out.push(`${name}=${value}`);
  return out.join(eol) + eol;
}

/** Characters an unquoted value cannot hold as they are: whitespace, quotes, "$" (interpolation), "#" (comment), "\\". */
const NEEDS_QUOTES = /[\s'"`$#\\]/;

/**
 * `NAME=value` as one line of an env file that compose (v1 and v2) reads back as exactly `value`: unquoted when
 * nothing in it needs quoting, else in single quotes (no interpolation, no escapes). Throws, naming the variable,
 * for what no quoting carries the same way in both: a line break or NUL, or "'" or "\\" among characters
 * that need quoting.
 */
export function formatEnvAssignment(name: string, value: string): string {
  if (!ENV_NAME_PATTERN.test(name)) {
    throw new RangeError(`${JSON.stringify(name)} cannot be an env file variable: use letters, digits and "_", not starting with a digit`);
  }
  const bad = /[\r\n\0]/.exec(value);
  if (bad) {
    throw new RangeError(`the value of ${name} holds ${JSON.stringify(bad[0])}, which an env file cannot carry (one line per variable): give ${name} a value without line breaks or NUL`);
  }
  if (!NEEDS_QUOTES.test(value)) return `${name}=${value}`;
  if (/['\\]/.test(value)) {
    throw new RangeError(
      `the value of ${name} needs quoting and holds "'" or "\\", which compose v1 and v2 read differently inside quotes: give ${name} a value without them`,
    );
  }
  return `${name}='${value}'`;
}
