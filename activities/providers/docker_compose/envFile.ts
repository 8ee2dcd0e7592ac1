/**
 * Minimal, lossless editing of dotenv files: only the lines assigning the variable change,
 * every other line (comments, blank lines, other variables, line endings) stays as it was.
 */

const ASSIGNMENT = /^(\s*)(export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

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
