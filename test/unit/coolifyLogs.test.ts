import { describe, expect, it } from 'vitest';
import { classify, fieldErrorsOf } from '../../activities/coolify/client';
import { buildLog, redact } from '../../activities/coolify/logs';
import { ProviderInputError } from '../../activities/providers/contract';

describe("Coolify's build log", () => {
  const logs = JSON.stringify([
    { output: 'Pulling', type: 'stdout', hidden: false },
    { output: 'docker build --secret …', type: 'stdout', hidden: true },
    { output: 'npm ERR! token abc123', type: 'stderr', hidden: false },
  ]);

  it('is a JSON string of lines: stdout and stderr shown, hidden lines left out, the last N', () => {
    expect(buildLog(logs, 10)).toBe('Pulling\nERR npm ERR! token abc123');
    expect(buildLog(logs, 1)).toBe('ERR npm ERR! token abc123');
    expect(buildLog('not json\nplain text', 1)).toBe('plain text');
  });

  it('never shows a known secret, even one inside another', () => {
    expect(redact('token abc123 and abc123456', ['abc123', 'abc123456'])).toBe('token *** and ***');
    expect(redact('nothing to hide', [])).toBe('nothing to hide');
  });
});

describe("Coolify's errors, classified once", () => {
  it('422 field errors whose values are arrays or plain strings', () => {
    expect(fieldErrorsOf({ errors: { name: ['required'], tag: 'invalid' } })).toEqual({ name: ['required'], tag: ['invalid'] });
    const err = classify('PATCH', '/applications/x', 422, { message: 'Validation failed.', errors: { tag: 'invalid' } }, undefined);
    expect(err).toBeInstanceOf(ProviderInputError);
    expect(err.message).toBe('Coolify PATCH /applications/x: Validation failed. (tag: invalid)');
  });

  it('a missing read:sensitive ability says what it is for', () => {
    expect(classify('GET', '/deployments/x', 403, { message: 'Missing required permissions: read:sensitive' }, undefined).message).toMatch(
      /lacks the "read:sensitive" ability, which fraisier needs to read build logs/,
    );
  });

  it('429 without Retry-After waits a minute; 5xx is retryable, not input', () => {
    expect(classify('POST', '/deploy', 429, { message: 'Too Many Attempts.' }, undefined)).toMatchObject({ nextRetryDelay: 60_000 });
    expect(classify('GET', '/x', 503, {}, undefined)).not.toBeInstanceOf(ProviderInputError);
  });
});
