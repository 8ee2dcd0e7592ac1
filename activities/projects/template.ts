/**
 * A project's stack from its compose template: `${NAME}` replaced by the project's variables (its id, ports and
 * secrets), and the env file handed to compose beside it.
 */
import { formatEnvAssignment } from '../dotenv';

/** `$${` (a literal `${`, e.g. for compose's own interpolation), or `${…}` up to its `}` on the same line. */
const PLACEHOLDER = /\$\$\{|\$\{([^}\n]*)(\})?/g;
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What a substituted value may not hold: it would change the lines or be read again by compose's interpolation. */
const UNSAFE_VALUE = /[\r\n\0$]/;

function known(vars: Record<string, string>): string {
  const names = Object.keys(vars).sort();
  return names.length > 0 ? names.join(', ') : '(none)';
}

/**
 * The text with every `${NAME}` replaced by `vars[NAME]` and every `$${` by a literal `${`; any other `$` is left
 * as it is (compose's `$VAR` and `$$`). Throws one error listing every placeholder that is not a known variable,
 * with its line, and every value that cannot be substituted safely.
 */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(vars)) {
    const bad = UNSAFE_VALUE.exec(value);
    if (bad) problems.push(`the value of ${name} holds ${JSON.stringify(bad[0])}, which cannot be put in a compose file as it is`);
  }
  const lines = text.split('\n').map((line, index) =>
    line.replace(PLACEHOLDER, (match: string, name: string | undefined, close: string | undefined) => {
      if (match === '$${') return '${';
      const where = `line ${index + 1}`;
      if (close === undefined) {
        problems.push(`${where}: "\${" is not closed by "}" on the same line; write "$\${" for a literal "\${"`);
      } else if (name === undefined || !PLAIN_NAME.test(name)) {
        problems.push(`${where}: ${JSON.stringify(match)} is not a plain \${NAME} (only those are substituted); write "$\${" to leave it to compose`);
      } else if (!Object.hasOwn(vars, name)) {
        problems.push(`${where}: \${${name}} is not a known variable (known: ${known(vars)}); write "$\${" for a literal "\${"`);
      } else {
        return vars[name] ?? '';
      }
      return match;
    }),
  );
  if (problems.length > 0) throw new Error(`the project template cannot be rendered:\n  ${problems.join('\n  ')}`);
  return lines.join('\n');
}

/** An env file for docker compose, one `NAME=value` line per variable, in the given order (see formatEnvAssignment). */
export function envFileContent(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([name, value]) => `${formatEnvAssignment(name, value)}\n`)
    .join('');
}
