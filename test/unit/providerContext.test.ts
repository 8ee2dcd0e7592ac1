import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { versionProblem } from '../../activities/providerActivities';
import { activityDeadline, boundedCommand, createProviderSource, resumedCheckpoint, type ExtraProvider } from '../../activities/providerContext';
import { ProviderInputError, type Provider } from '../../activities/providers/contract';
import type { ProviderEntry } from '../../config/providers/index';
import { createCommandRunner } from '../../activities/runner';
import { TIMEOUTS, pull } from '../../activities/providers/docker_compose/commands';
import type { Target } from '../../domain/target';
import { Agent } from 'undici';

const now = 1_000_000;

describe("a provider's commands never outlive the activity that runs them", () => {
  it('the deadline is the start-to-close timeout from now, or the schedule-to-close one when it comes first', () => {
    expect(activityDeadline({ startToCloseTimeoutMs: 60_000, scheduleToCloseTimeoutMs: 0, scheduledTimestampMs: now - 5_000 }, now)).toBe(now + 60_000);
    expect(activityDeadline({ startToCloseTimeoutMs: 60_000, scheduleToCloseTimeoutMs: 30_000, scheduledTimestampMs: now - 5_000 }, now)).toBe(now + 25_000);
  });

  it('a 30-minute pull inside a 20-minute activity is cut to what is left of the activity, less a margin to report it', () => {
    const inv = { cli: { kind: 'v2' as const, argv: ['docker', 'compose'], version: 'v2' }, composeFile: '/srv/c.yml', cwd: '/srv', env: {} };
    const spec = pull(inv, 'web');
    expect(spec.timeoutMs).toBe(TIMEOUTS.pull);
    expect(TIMEOUTS.pull).toBeGreaterThan(20 * 60_000);
    const deadline = now + 20 * 60_000;
    expect(boundedCommand(spec, deadline, now, 600_000).timeoutMs).toBe(20 * 60_000 - 2_000);
    // Later in the same activity, less is left.
    expect(boundedCommand(spec, deadline, now + 19 * 60_000, 600_000).timeoutMs).toBe(60_000 - 2_000);
    // A short command keeps its own bound; one without a bound gets the default, cut the same way.
    expect(boundedCommand({ argv: ['docker', 'version'], timeoutMs: 30_000 }, deadline, now, 600_000).timeoutMs).toBe(30_000);
    expect(boundedCommand({ argv: ['true'] }, deadline, now, 600_000).timeoutMs).toBe(600_000);
  });

  it('refuses to start a command when no time is left, naming it', () => {
    expect(() => boundedCommand({ argv: ['docker', 'compose', 'up'] }, now + 1_000, now, 600_000)).toThrow(/no time left in this activity to run `docker compose up`/);
  });
});

describe('the provider source', () => {
  const deps = { run: createCommandRunner(), http: new Agent(), env: {} };
  const target = (provider: string, config: Record<string, unknown>): Target => ({ fraise: 'shop', environment: 'prod', provider, config, retain: 5 });

  it('parses the config once with the provider\'s schema and hands the provider its typed config (defaults filled in)', async () => {
    const { provider, config } = await createProviderSource(deps).prepare(target('docker_compose', { compose_file: '/srv/c.yml', service_name: 'web' }));
    expect(provider.name).toBe('docker_compose');
    expect(config).toEqual({ compose_file: '/srv/c.yml', service_name: 'web', pull: 'auto' });
  });

  it('refuses, as input errors, a bad config and an unknown provider', async () => {
    const source = createProviderSource(deps);
    await expect(source.prepare(target('docker_compose', { compose_file: '/srv/c.yml', service_name: 'web', pull: 'sometimes' }))).rejects.toThrow(
      /invalid docker_compose config for shop\/prod: config\.pull/,
    );
    await expect(source.prepare(target('kubernetes', {}))).rejects.toThrow(ProviderInputError);
    await expect(source.prepare(target('kubernetes', {}))).rejects.toThrow(/unknown provider "kubernetes"; known: docker_compose, coolify, bare_metal/);
    await expect(source.prepare(target('bare_metal', { ssh_host: 'h', ssh_user: 'u', app_path: '/srv/a', service_manager: 'none' }))).rejects.toThrow(
      /invalid bare_metal config for shop\/prod: config\.repo/,
    );
  });
});

describe('extra providers (an in-process double handed to one worker)', () => {
  const deps = { run: createCommandRunner(), http: new Agent(), env: {} };
  const target = (provider: string, config: Record<string, unknown>): Target => ({ fraise: 'shop', environment: 'prod', provider, config, retain: 5 });
  const fake = (name: string): ExtraProvider & { built: number } => {
    const entry: ProviderEntry = {
      name,
      description: 'in-process double',
      available: true,
      configSchema: z.object({ delay_ms: z.number().int().default(0) }),
      pathKeys: [],
      checkVersion: (version) => (version.startsWith('x') ? 'no version starting with x here' : null),
      bounds: { changeSeconds: 60, readySeconds: 60 },
      healthFromServer: false,
    };
    const provider: Provider<Record<string, unknown>> = {
      name,
      preflight: async () => ({ ok: true, checks: [] }),
      deploy: async (_ctx, version) => ({ version, release: { version, artifact: {} } }),
      readiness: async () => ({ state: 'ready', detail: 'up' }),
      health: async () => ({ ok: true, detail: 'ok', source: 'none' }),
      status: async () => ({ state: 'running', detail: 'up' }),
      logs: async () => '',
      rollback: async (_ctx, release) => ({ version: release.version, release }),
      cancel: async () => ({ cancelled: false, detail: 'nothing to cancel' }),
      prune: async () => ({ removed: [], kept: [], detail: 'nothing' }),
      stop: async () => undefined,
      start: async () => ({ version: 'v1', release: { version: 'v1', artifact: {} } }),
      remove: async () => undefined,
    };
    const extra = {
      entry,
      built: 0,
      factory: () => {
        extra.built += 1;
        return provider;
      },
    };
    return extra;
  };

  it('is found by its name, its config parsed by its own schema, built once, and its version rule applied', async () => {
    const noop = fake('bench_noop');
    const source = createProviderSource(deps, { bench_noop: noop });
    const first = await source.prepare(target('bench_noop', {}));
    expect(first.provider.name).toBe('bench_noop');
    expect(first.config).toEqual({ delay_ms: 0 });
    await source.prepare(target('bench_noop', { delay_ms: 5 }));
    expect(noop.built).toBe(1);
    await expect(source.prepare(target('bench_noop', { delay_ms: 'soon' }))).rejects.toThrow(/invalid bench_noop config for shop\/prod: config\.delay_ms/);
    expect(versionProblem(target('bench_noop', {}), 'x1', source.entry('bench_noop'))).toBe('no version starting with x here');
    // The product's own providers are still there, and a worker without the extra does not know the name.
    expect((await source.prepare(target('docker_compose', { compose_file: '/srv/c.yml', service_name: 'web' }))).provider.name).toBe('docker_compose');
    await expect(createProviderSource(deps).prepare(target('bench_noop', {}))).rejects.toThrow(/unknown provider "bench_noop"/);
  });

  it('cannot replace a provider of the product\'s catalogue', () => {
    const impostor = fake('docker_compose');
    expect(() => createProviderSource(deps, { docker_compose: impostor })).toThrow(/"docker_compose": a provider of fraisier's own catalogue cannot be replaced/);
    expect(() => createProviderSource(deps, { bench_noop: fake('other') })).toThrow(/its entry is named "other"/);
    expect(impostor.built).toBe(0);
  });
});

describe('what a retried provider call resumes from', () => {
  it('is the checkpoint of the previous attempt, and nothing else its heartbeats may hold', () => {
    expect(resumedCheckpoint({ message: 'pulling', checkpoint: { passed: [['health', 'ok']] } })).toEqual({ passed: [['health', 'ok']] });
    expect(resumedCheckpoint({ message: 'pulling' })).toBeUndefined();
    // Heartbeats of another shape (an old worker's bare message, awaitRelease's own state) are not a checkpoint.
    expect(resumedCheckpoint('pulling')).toBeUndefined();
    expect(resumedCheckpoint({ since: 1, looks: 2, pauseMs: 1_000, detail: '' })).toBeUndefined();
    expect(resumedCheckpoint(undefined)).toBeUndefined();
    expect(resumedCheckpoint(null)).toBeUndefined();
  });
});
