/**
 * The one quoting function for the server's shell. Every remote command fraisier sends over SSH is an argv array
 * whose elements pass through `shellQuote` and nothing else: values are never spliced into script text (scripts
 * are constants that read their values from "$1", "$2", …).
 */

/** Thrown when a value cannot be sent to a remote shell at all (our caller's bug or unvalidated input). */
export class UnquotableError extends Error {
  override readonly name = 'UnquotableError';
}

/**
 * `value` as ONE word for a POSIX shell (sh, dash, bash, zsh, ksh): inside single quotes nothing is special, and a
 * single quote is closed, escaped and reopened ('\''). Newlines, `$()`, backticks, `;`, globs and unicode stay
 * literal. A NUL cannot be passed in an argument at all, so it is refused. Leading dashes are the command's
 * business: quoting keeps them, so commands put "--" before operands that could start with one.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new UnquotableError(`refusing to send a value with a NUL byte to the remote shell: ${JSON.stringify(value.slice(0, 80))}`);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An argv array as one command line for the remote shell: each element one word, whatever it holds. */
export function remoteCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new UnquotableError('refusing to send an empty command to the remote shell');
  return argv.map(shellQuote).join(' ');
}
