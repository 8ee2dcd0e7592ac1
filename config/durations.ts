/** Durations in fraises.yaml: seconds as a number, or a string such as 30s, 2m, 1h; parsed to seconds. */
import { z } from 'zod';
import { allowed } from './hints';
import { DURATION_PATTERN, DURATION_RULE, parseDuration } from '../domain/names';

/** A duration: seconds as a number, or a string such as 30s, 2m, 1h. Parses to seconds. */
function seconds() {
  return allowed(z.union([z.number().positive(), z.string().regex(DURATION_PATTERN)]), DURATION_RULE).transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', input: value, message: (err as Error).message, params: { allowed: DURATION_RULE } });
      return z.NEVER;
    }
  });
}

export function durationSchema(what: string, defaultSeconds: number) {
  return seconds()
    .describe(`${what}: seconds, or a duration such as 30s, 2m, 1h (default ${defaultSeconds}s).`)
    .default(defaultSeconds);
}

/** A duration with no default of its own (the provider's applies). */
export function optionalDurationSchema(what: string) {
  return seconds().optional().describe(`${what}: seconds, or a duration such as 30s, 2m, 1h.`);
}
