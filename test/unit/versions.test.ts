/**
 * One version rule (domain/names.ts), narrowed per provider (config/providers/). Every version the CLI accepts
 * is either accepted by each provider or refused by it, clearly, before anything runs: by the same check on the
 * client (client/context.ts) and on the worker (the validate step, and the provider itself).
 */
import { describe, expect, it } from 'vitest';
import { versionProblem } from '../../activities/providerActivities';
import { checkVersion } from '../../client/context';
import { CliError, EXIT } from '../../client/exitCodes';
import { providerCatalogue } from '../../config/providers/index';
import { validateVersion, VERSION_MAX_LENGTH } from '../../domain/names';
import type { Target } from '../../domain/target';

const HOSTILE = [
  'v1;rm -rf /',
  '-v',
  '--help',
  '$(id)',
  '`id`',
  'v1\nVERSION=evil',
  'v1 v2',
  ' v1',
  'v1\t',
  '',
  'a|b',
  'a&&b',
  'v1>x',
  "v1'",
  'v1"',
  '../etc',
  '.hidden',
  'x'.repeat(129),
  'v1\0',
  'v1#c',
  '${VERSION}',
  'v1/v2',
  'v1:v2',
  'v1@x',
];

/** Versions the one rule accepts, chosen at its edges. */
const ACCEPTED = ['v1', 'v1+', '1.2.3', 'release_2024-05-01', '1.0.0-rc.1', '1.0.0+build.5', '1+a+b', 'A', '0', 'x'.repeat(VERSION_MAX_LENGTH), 'v1..2', 'v1.', 'v1.lock', 'a_b-c.d+e'];

function targetOf(provider: string): Target {
  return { fraise: 'shop', environment: 'prod', provider, config: {}, retain: 5 };
}

describe('the one version rule', () => {
  it.each(HOSTILE)('refuses %j', (bad) => {
    expect(validateVersion(bad)).toMatch(/^version/);
  });

  it.each(ACCEPTED)('accepts %j', (good) => {
    expect(validateVersion(good)).toBeNull();
  });

  it('refuses a leading "_" (Docker would take it, the rule does not: one rule, providers only narrow)', () => {
    expect(validateVersion('_v1')).toMatch(/not allowed/);
  });
});

describe.each(providerCatalogue.map((p) => p.name))('provider %s', (name) => {
  const entry = providerCatalogue.find((p) => p.name === name);
  it.each(ACCEPTED)('accepts %j or refuses it with a reason, on the client and the worker alike', (version) => {
    const problem = entry?.checkVersion(version) ?? null;
    const target = targetOf(name);
    expect(versionProblem(target, version)).toBe(problem);
    if (problem === null) {
      expect(checkVersion(version, '--version', target)).toBe(version);
    } else {
      expect(problem).toContain(name);
      expect(() => checkVersion(version, '--version', target)).toThrow(CliError);
      try {
        checkVersion(version, '--version', target);
      } catch (err) {
        expect((err as CliError).exitCode).toBe(EXIT.badInput);
        expect((err as CliError).message).toContain(problem);
      }
    }
  });

  it.each(HOSTILE)('never takes %j, whatever it narrows', (bad) => {
    expect(versionProblem(targetOf(name), bad)).not.toBeNull();
  });
});

describe('what each provider narrows', () => {
  it('docker_compose and coolify refuse "+" (not in Docker tags) and say what to use', () => {
    for (const name of ['docker_compose', 'coolify']) {
      expect(versionProblem(targetOf(name), '1.0.0+build.5')).toMatch(/Docker image tag.*use e\.g\. 1\.0\.0-build\.5/);
    }
  });

  it('bare_metal refuses what git refuses in a ref name', () => {
    expect(versionProblem(targetOf('bare_metal'), 'v1..2')).toMatch(/git.*"\.\."/);
    expect(versionProblem(targetOf('bare_metal'), 'v1.lock')).toMatch(/\.lock/);
    expect(versionProblem(targetOf('bare_metal'), '1.0.0+build.5')).toBeNull();
  });
});
