/**
 * bare_metal provider: releases in <app_path>/releases/<version> on a server reached with the system `ssh`
 * (one shared connection per target), fetched from git at exactly the version's tag or commit, built there,
 * made live by switching the <app_path>/current symlink atomically, and run by a service manager (systemd, a
 * configured command set, or none). Rollback is the same switch, without fetch or build. The pieces: shell
 * (the one quoting function), commands (ssh and remote argv), serviceManager, connection (running them), preflight.
 */
import type { BareMetalConfig } from '../../../config/providers/bare_metal';
import { findProvider } from '../../../config/providers/index';
import { validateVersion } from '../../../domain/names';
import type { DeployStarted, HealthReport, ReleaseData, ServiceStatus } from '../../../domain/release';
import type { HealthCheckConfig } from '../../../domain/target';
import { httpCheckUrl, httpVerdict, probeHealth } from '../../health/index';
import { ProviderInputError, type Provider, type ProviderContext, type ProviderDeps } from '../contract';
import * as cmd from './commands';
import type { RemoteCommand, SshSettings } from './commands';
import { outputTail, prepareWorkerSide, remoteFailure, runRemote, sshSettingsOf, type RemoteResult } from './connection';
import { preflight } from './preflight';
import {
  commandSetVerdict,
  logsCommand,
  serviceCommands,
  serviceManagerOf,
  statusCommand,
  systemdVerdict,
  type ServiceAction,
  type ServiceManager,
  type ServiceVerdict,
} from './serviceManager';

type Ctx = ProviderContext<BareMetalConfig>;

interface Session {
  ssh: SshSettings;
  manager: ServiceManager;
  app: string;
  /** Runs a remote command; non-zero exits are returned, ssh's own failures thrown. */
  run(remote: RemoteCommand): Promise<RemoteResult>;
  /** Runs a remote command that must succeed. */
  must(remote: RemoteCommand): Promise<RemoteResult>;
}

function checkVersion(version: string): string {
  const problem = validateVersion(version) ?? findProvider('bare_metal')?.checkVersion(version) ?? null;
  if (problem) throw new ProviderInputError(problem);
  return version;
}

/** Parses `key value…` lines into the first value of each key. */
function facts(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line.trim() : line.slice(0, sp);
    if (key && !out.has(key)) out.set(key, sp < 0 ? '' : line.slice(sp + 1).trim());
  }
  return out;
}

/** The version a `current` symlink target (releases/<version>) names, if it names one. */
export function versionOfLink(target: string | undefined): string | undefined {
  const m = /^releases\/([^/]+)$/.exec(target ?? '');
  return m?.[1];
}

export function createBareMetalProvider(deps: ProviderDeps): Provider<BareMetalConfig> {
  async function session(ctx: Ctx): Promise<Session> {
    const ssh = sshSettingsOf(ctx.config, deps.env);
    await prepareWorkerSide(ssh);
    const run = (remote: RemoteCommand) => runRemote(ctx, ssh, remote);
    return {
      ssh,
      manager: serviceManagerOf(ctx.config),
      app: ctx.config.app_path,
      run,
      async must(remote) {
        const r = await run(remote);
        if (r.exitCode !== 0) throw remoteFailure(ssh, r);
        return r;
      },
    };
  }

  /** Time left in the activity for a long remote step (build), less a margin to report its end. */
  const remaining = (ctx: Ctx): number => Math.max(1_000, ctx.deadline - Date.now() - 5_000);

  async function service(ctx: Ctx, s: Session, action: ServiceAction): Promise<void> {
    for (const c of serviceCommands(s.manager, action)) {
      ctx.log(`${action}: ${c.what}`);
      await s.must(c);
    }
  }

  async function serviceVerdict(s: Session): Promise<ServiceVerdict | null> {
    const c = statusCommand(s.manager);
    if (!c) return null;
    const r = await s.run(c);
    if (s.manager.kind === 'systemd') {
      if (r.exitCode !== 0) throw remoteFailure(s.ssh, r);
      return systemdVerdict(s.manager.unit, r.stdout);
    }
    return commandSetVerdict(r.exitCode, `${r.stdout}\n${r.stderr}`);
  }

  async function currentLink(s: Session): Promise<string | undefined> {
    const r = await s.must(cmd.listReleases(s.app));
    return facts(r.stdout).get('current') || undefined;
  }

  /** Switches `current` to a complete release and restarts the service: deploy's last steps, and all of rollback. */
  async function switchTo(ctx: Ctx, s: Session, version: string): Promise<void> {
    const r = await s.run(cmd.switchCurrent(s.app, version));
    if (r.exitCode === cmd.INCOMPLETE_RELEASE_EXIT) {
      throw new ProviderInputError(
        `release ${version} is not on ${s.ssh.host} any more (or is incomplete) in ${s.app}/releases, and rollback never fetches or builds: deploy ${version} instead`,
      );
    }
    if (r.exitCode !== 0) throw remoteFailure(s.ssh, r);
    const [, from, to] = r.stdout.trim().split(/\s+/);
    ctx.log(from === to ? `${s.app}/current already points at ${to}` : `switched ${s.app}/current from ${from} to ${to}`);
    await service(ctx, s, 'restart');
  }

  function started(ctx: Ctx, version: string, commit: string): DeployStarted {
    const hc = ctx.target.healthCheck;
    const url = hc?.type === 'http' ? httpCheckUrl(hc) : undefined;
    return {
      version,
      release: { version, artifact: { releaseDir: cmd.releaseDir(ctx.config.app_path, version), commit } },
      ...(url ? { url } : {}),
    };
  }

  async function healthFromServer(s: Session, hc: HealthCheckConfig): Promise<HealthReport> {
    const budget = Math.min(hc.timeoutSeconds, 10);
    if (hc.type === 'http') {
      const url = httpCheckUrl(hc);
      const r = await s.run(cmd.httpProbeFromServer(url, budget));
      if (r.exitCode !== 0) return { ok: false, source: 'http', detail: `GET ${url} from ${s.ssh.host}: ${outputTail(r, 200)} (curl exit ${r.exitCode})` };
      const nl = r.stdout.lastIndexOf('\n');
      const verdict = httpVerdict(hc, Number(r.stdout.slice(nl + 1).trim()), nl < 0 ? '' : r.stdout.slice(0, nl));
      return { ok: verdict.ok, source: 'http', detail: `GET ${url} from ${s.ssh.host}: ${verdict.text}` };
    }
    const r = await s.run(cmd.tcpProbeFromServer(hc.host, hc.port, budget));
    return r.exitCode === 0
      ? { ok: true, source: 'tcp', detail: `TCP ${hc.host}:${hc.port} from ${s.ssh.host}: connected` }
      : { ok: false, source: 'tcp', detail: `TCP ${hc.host}:${hc.port} from ${s.ssh.host}: ${outputTail(r, 200)} (exit ${r.exitCode})` };
  }

  return {
    name: 'bare_metal',

    async preflight(ctx) {
      return preflight(ctx, deps.env);
    },

    async deploy(ctx, version) {
      const v = checkVersion(version);
      const s = await session(ctx);
      const state = facts((await s.must(cmd.releaseState(s.app, v))).stdout);
      const [kind, existingCommit] = (state.get('release') ?? 'absent').split(' ');
      let commit: string;
      if (kind === 'complete' && existingCommit) {
        commit = existingCommit;
        ctx.log(`release ${v} is already complete in ${s.app}/releases (commit ${commit.slice(0, 12)}): reusing it, no fetch or build`);
      } else {
        if (kind === 'partial') ctx.log(`release ${v} in ${s.app}/releases is incomplete (an interrupted attempt): replacing it`);
        ctx.log(`fetching ${v} from ${ctx.config.repo} into ${cmd.releaseDir(s.app, v)}`);
        const f = await s.run(cmd.fetchRelease(s.app, v, ctx.config.repo));
        if (f.exitCode === cmd.NO_SUCH_VERSION_EXIT) {
          throw new ProviderInputError(`cannot deploy ${v}: ${outputTail(f, 300)}; push the tag, or give a full commit id`);
        }
        if (f.exitCode !== 0) throw remoteFailure(s.ssh, f);
        commit = f.stdout.trim().split('\n').pop() ?? '';
        const dir = cmd.releaseDir(s.app, v);
        for (const [name, argv] of [['install', ctx.config.install], ['build', ctx.config.build]] as const) {
          if (!argv) continue;
          ctx.log(`${name}: ${argv.join(' ')} (in ${dir})`);
          const r = await s.run(cmd.runIn(dir, argv, `the ${name} command of ${v}`, remaining(ctx)));
          if (r.exitCode !== 0) throw new Error(`the ${name} command (${argv.join(' ')}) of ${v} failed on ${s.ssh.host} with exit ${r.exitCode}: ${outputTail(r)}`);
        }
        await s.must(cmd.markComplete(s.app, v, commit));
        ctx.log(`release ${v} is complete (commit ${commit.slice(0, 12)})`);
      }
      await switchTo(ctx, s, v);
      return started(ctx, v, commit);
    },

    async rollback(ctx, release: ReleaseData) {
      const v = checkVersion(release.version);
      const s = await session(ctx);
      await switchTo(ctx, s, v);
      return started(ctx, v, release.artifact.commit ?? '');
    },

    async readiness(ctx, deployed) {
      const s = await session(ctx);
      const link = await currentLink(s);
      const want = `releases/${deployed.version}`;
      if (link !== want) {
        return { state: 'failed', detail: `${s.app}/current points at ${link ?? 'nothing'}, not ${want}: another operation may have switched it` };
      }
      const v = await serviceVerdict(s);
      if (!v) return { state: 'ready', detail: `${s.app}/current is ${want} (no service manager)`, ...(deployed.url ? { url: deployed.url } : {}) };
      if (v.state === 'running') return { state: 'ready', detail: v.detail, ...(deployed.url ? { url: deployed.url } : {}) };
      if (v.state === 'starting') return { state: 'pending', detail: v.detail };
      return { state: 'failed', detail: v.detail };
    },

    async health(ctx): Promise<HealthReport> {
      const s = await session(ctx);
      const v = await serviceVerdict(s);
      if (v && v.state !== 'running') return { ok: false, source: 'provider', detail: v.detail };
      const hc = ctx.target.healthCheck;
      if (hc?.from === 'server') return healthFromServer(s, hc);
      if (hc) return probeHealth(hc, { signal: ctx.signal });
      return { ok: true, source: v ? 'provider' : 'none', detail: v ? `${v.detail}; no health check configured` : 'no service manager and no health check configured' };
    },

    async status(ctx): Promise<ServiceStatus> {
      const s = await session(ctx);
      const link = await currentLink(s);
      const version = versionOfLink(link);
      const v = await serviceVerdict(s);
      const base = { ...(version ? { version } : {}) };
      if (!link) return { state: 'absent', ...base, detail: `${s.app}/current does not exist: nothing deployed` };
      const where = `current -> ${link}`;
      if (v && v.state !== 'running') {
        const state = v.state === 'starting' ? 'starting' : v.state === 'absent' ? 'absent' : v.state === 'unknown' ? 'unknown' : 'stopped';
        return { state, ...base, detail: `${v.detail}; ${where}` };
      }
      const hc = ctx.target.healthCheck;
      if (!hc) return { state: v ? 'running' : 'unknown', ...base, detail: `${v?.detail ?? 'no service manager'}; ${where}; no health check configured` };
      const h = hc.from === 'server' ? await healthFromServer(s, hc) : await probeHealth(hc, { signal: ctx.signal });
      const url = hc.type === 'http' ? httpCheckUrl(hc) : undefined;
      return {
        state: h.ok ? 'running' : 'unhealthy',
        ...base,
        detail: `${v?.detail ?? 'no service manager'}; ${where}; health: ${h.detail}`,
        ...(url && h.ok ? { url } : {}),
      };
    },

    async logs(ctx, tail) {
      const s = await session(ctx);
      const c = logsCommand(s.manager, tail);
      if (!c) return `(no logs: service_manager ${s.manager.kind === 'none' ? 'is none' : 'has no logs command'})`;
      return (await s.must(c)).stdout;
    },

    async cancel() {
      return { cancelled: false, detail: 'bare_metal runs its steps inside the activity, which the cancellation stopped: nothing queued to cancel' };
    },

    async prune(ctx, keep) {
      const s = await session(ctx);
      const listing = (await s.must(cmd.listReleases(s.app))).stdout.split('\n');
      const f = facts(listing.join('\n'));
      const protect = new Set<string>();
      for (const link of [f.get('current'), f.get('previous')]) {
        const v = versionOfLink(link);
        if (v) protect.add(v);
      }
      const limit = ctx.config.releases_to_keep ?? keep.length;
      for (const r of keep.slice(0, limit)) protect.add(r.version);
      const present = listing.flatMap((line) => {
        const m = /^release (\S+) (complete|partial)/.exec(line);
        return m?.[1] ? [m[1]] : [];
      });
      const removable = present.filter((name) => !protect.has(name) && /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) && !name.includes('..'));
      if (removable.length > 0) await s.must(cmd.removeReleases(s.app, removable));
      const kept = present.filter((n) => !removable.includes(n));
      return { removed: removable, kept, detail: `removed ${removable.length} release director${removable.length === 1 ? 'y' : 'ies'} in ${s.app}/releases, kept ${kept.join(', ') || 'none'}` };
    },

    async stop(ctx) {
      const s = await session(ctx);
      await service(ctx, s, 'stop');
    },

    async start(ctx, current) {
      const s = await session(ctx);
      const link = await currentLink(s);
      const version = versionOfLink(link);
      if (!version) throw new ProviderInputError(`${s.app}/current does not exist on ${s.ssh.host}: nothing to start, deploy a version instead`);
      await service(ctx, s, 'start');
      const commit = current?.version === version ? (current.artifact.commit ?? '') : '';
      return started(ctx, version, commit);
    },

    async remove(ctx) {
      const s = await session(ctx);
      try {
        await service(ctx, s, 'stop');
      } catch (err) {
        ctx.log(`stopping before removal failed (${(err as Error).message}); removing the releases anyway`);
      }
      await s.must(cmd.removeAll(s.app));
      ctx.log(`removed the releases and the current link in ${s.app}`);
    },
  };
}
