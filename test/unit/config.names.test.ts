import { describe, expect, it } from 'vitest';
import { parseDuration, validateName, validateVersion } from '../../domain/names';
import { formatPath } from '../../config/errors';
import { levenshtein, suggest } from '../../domain/suggest';

describe('validateName', () => {
  it.each(['my_api', 'web', 'a', 'prod-eu-1', '0', 'a'.repeat(63)])('accepts %j', (name) => {
    expect(validateName('fraise', name)).toBeNull();
  });

  it.each([
    ['', 'is empty'],
    ['-rf', 'starts with "-"'],
    ['../etc', 'has characters other than'],
    ['My_Api', 'has characters other than'],
    ['a b', 'has characters other than'],
    ['a;b', 'has characters other than'],
    ['a/b', 'has characters other than'],
    ['a'.repeat(64), 'longer than 63'],
  ])('rejects %j', (name, why) => {
    expect(validateName('environment', name)).toContain(why);
    expect(validateName('environment', name)).toMatch(/^environment name/);
  });

  it('rejects non-strings', () => {
    expect(validateName('fraise', 3)).toBe('fraise name must be a string, got 3');
  });
});

describe('validateVersion', () => {
  it.each(['v1.2.3', '1.0.0+build.5', '2024-06-01', 'a1b2c3d', 'release_7', 'X'])('accepts %j', (v) => {
    expect(validateVersion(v)).toBeNull();
  });

  it.each(['', '-v1', 'v1;rm -rf /', 'v1;rm', 'v1 2', '$(id)', 'v1`id`', '../v1', 'v1|x', 'v1&', '.hidden', 'a'.repeat(129), 'v1\n'])(
    'rejects %j',
    (v) => {
      expect(validateVersion(v)).toMatch(/^version/);
    },
  );
});

describe('parseDuration', () => {
  it.each([
    [30, 30],
    [0.5, 0.5],
    ['30s', 30],
    ['2m', 120],
    ['1h', 3600],
    ['24h', 86_400],
    ['1d', 86_400],
    ['500ms', 0.5],
    ['45', 45],
    [' 10s ', 10],
  ] as const)('%j -> %d seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([
    ['10 minutes', 'is not understood'],
    ['1w', 'is not understood'],
    ['s', 'is not understood'],
    ['-5s', 'is not understood'],
    [0, 'is not positive'],
    [-1, 'is not positive'],
    ['0s', 'is not positive'],
    [Number.NaN, 'is not a finite number'],
    ['400d', 'longer than a year'],
  ] as const)('%j is refused: %s', (input, why) => {
    expect(() => parseDuration(input)).toThrow(why);
  });
});

describe('messages helpers', () => {
  it('formats key paths', () => {
    expect(formatPath(['fraises', 'my_api', 'providers', 'staging'])).toBe('fraises.my_api.providers.staging');
    expect(formatPath(['fraises', '../x', 'build', 0])).toBe('fraises["../x"].build[0]');
    expect(formatPath([])).toBe('(top level)');
  });

  it('suggests close keys only', () => {
    expect(levenshtein('retian', 'retain')).toBe(2);
    expect(suggest('helth_check', ['provider', 'config', 'health_check'])).toBe('health_check');
    expect(suggest('compose', ['compose_file', 'service_name'])).toBe('compose_file');
    expect(suggest('colour', ['defaults', 'fraises'])).toBeUndefined();
  });
});
