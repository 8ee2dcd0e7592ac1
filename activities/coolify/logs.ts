/** Coolify's build logs, made readable and safe to store and print. */

interface BuildLogLine {
  output?: string;
  type?: string;
  hidden?: boolean;
}

/**
 * The last `tail` visible lines of a deployment's `logs`, which Coolify sends as a JSON-encoded string of lines
 * (COOLIFY-NOTES.md, Deployments): stdout and stderr shown, `hidden` lines left out.
 */
export function buildLog(logs: string, tail: number): string {
  let lines: BuildLogLine[];
  try {
    const parsed: unknown = JSON.parse(logs);
    lines = Array.isArray(parsed) ? (parsed as BuildLogLine[]) : [];
  } catch {
    return logs.split('\n').slice(-tail).join('\n');
  }
  return lines
    .filter((l) => !l.hidden && typeof l.output === 'string')
    .slice(-tail)
    .map((l) => `${l.type === 'stderr' ? 'ERR ' : ''}${l.output ?? ''}`)
    .join('\n');
}

/** Every occurrence of every secret replaced by ***, longest first (so that a secret containing another goes whole). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) {
    if (secret !== '') out = out.split(secret).join('***');
  }
  return out;
}
