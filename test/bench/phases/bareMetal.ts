/**
 * Phase 6: bare_metal deploys over a throwaway loopback sshd, against the same remote work done by hand.
 *
 * fraisier: the real provider through the real deploy workflow, on a worker of the phase's own whose command runner
 * counts the `ssh` it spawns and whose FRAISIER_SSH_CONTROL_DIR is a private dir of the bench's (emptied before the
 * first measured deploy). By hand: the steps a deploy does, as separate plain `ssh` invocations (no connection
 * sharing), then the same with ControlMaster=auto, each followed by GETs of /healthz from this process.
 * Versions alternate v1/v2 in each mode: deploys 1 and 2 fetch and build their release, 3..N reuse it.
 * SSH handshakes are sshd's "Accepted publickey" lines.
 */
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Agent, request } from 'undici';
import type { CommandRunner } from '../../../activities/commandRunner';
import { createCommandRunner } from '../../../activities/runner';
import { loadConfig } from '../../../config/load';
import { resolveTarget } from '../../../config/resolve';
import { temporalSettings } from '../../../config/temporal';
import { freePort } from '../../../workers/devServer';
import { createFraisierWorker } from '../../../workers/worker';
import { createAppRepo, installSupervisor, supervisorCommands } from '../../support/bareMetalApp';
import { startDeployUnderLock } from '../../support/deploys';
import { sshArgv, startSshd, type SshdHandle } from '../../support/sshd';
import type { Env } from '../env';
import { activityCount, activityMs, historyBreakdown, type HistoryBreakdown } from '../history';
import { heading, ms, now, percentile, printTable } from '../report';

const FRAISE = 'bm';
/** The build both fraisier and the hand-run do in a fresh release (the integration test's). */
const BUILD = ['sh', '-c', 'echo "built $(cat VERSION | head -1)" > BUILT'];
const HEALTH_INTERVAL_S = 1;
/** The hand-run's GETs of /healthz: every POLL_MS until a 200, for at most POLL_LIMIT_MS. */
const POLL_MS = 20;
const POLL_LIMIT_MS = 10_000;

interface App {
  name: string;
  path: string;
  port: number;
}

/** One deploy's figures. */
interface Run {
  version: string;
  wallMs: number;
  handshakes: number;
  commands: number;
  /** Hand-runs: ms of each step. */
  steps: Map<string, number>;
  /** Hand-runs: GETs of /healthz until the 200, and ms from the restart's return to it. */
  gets: number;
  upMs: number;
  /** fraisier: the workflow's history. */
  history?: HistoryBreakdown;
}

/** Which step of a deploy an ssh of the worker's is, from its remote command line (commands.ts, serviceManager.ts). */
function stepOf(remoteLine: string): string {
  if (remoteLine.includes('git init')) return 'fetch';
  if (remoteLine.includes('.current.new')) return 'switch';
  if (remoteLine.includes('.fraisier-release.tmp')) return 'marker';
  if (remoteLine.includes('release absent')) return 'look';
  if (remoteLine.includes('login %s')) return 'preflight';
  if (remoteLine.includes('previous %s')) return 'list';
  if (remoteLine.includes('BUILT')) return 'build';
  if (remoteLine.includes("'restart'")) return 'restart';
  if (remoteLine.includes("'status'")) return 'status';
  return 'other';
}

const versionOf = (i: number): string => (i % 2 === 0 ? 'v1' : 'v2');
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

async function healthz(port: number): Promise<number> {
  try {
    const r = await request(`http://127.0.0.1:${port}/healthz`, { headersTimeout: 3000, bodyTimeout: 3000 });
    await r.body.text();
    return r.statusCode;
  } catch {
    return 0;
  }
}

/** Asks every ControlMaster whose socket is in `dir` to exit (no-op for a missing dir). */
async function exitMasters(sshd: SshdHandle, dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch((): string[] => [])) {
    await execa('ssh', ['-F', '/dev/null', '-o', `ControlPath=${path.join(dir, entry)}`, '-O', 'exit', '-p', String(sshd.port), '-l', sshd.user, sshd.host], {
      stdin: 'ignore',
      reject: false,
      timeout: 10_000,
    });
  }
}

export async function benchBareMetal(env: Env): Promise<void> {
  const n = env.opts.bareMetalDeploys;
  heading(
    `6. bare_metal: ${n} deploys per mode (v1/v2 alternating; 1 and 2 fetch + build, 3..${n} reuse the release) over a loopback sshd: ` +
      'fraisier (provider + workflow) vs the same steps by hand with ssh',
  );
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  try {
    const root = await mkdtemp(path.join(os.tmpdir(), 'fraisier-bench-bm-'));
    cleanups.push({ what: 'bare_metal temp dir', run: () => rm(root, { recursive: true, force: true }) });
    await chmod(root, 0o755);
    const sshd = await startSshd();
    cleanups.push({ what: 'sshd', run: () => sshd.stop() });
    // Short paths: ssh's socket paths (dir + 12 + "-" + 40 hex, plus a temporary suffix) must fit in ~104 bytes.
    const controlDir = await mkdtemp(path.join(os.tmpdir(), 'fbm-'));
    const muxDir = await mkdtemp(path.join(os.tmpdir(), 'fbm-'));
    cleanups.push({ what: 'ssh socket dirs', run: () => Promise.all([rm(controlDir, { recursive: true, force: true }), rm(muxDir, { recursive: true, force: true })]) });

    const repo = await createAppRepo(path.join(root, 'repo'), [{ tag: 'v1' }, { tag: 'v2' }]);
    const supervise = await installSupervisor(sshd, path.join(root, 'bin'));
    const apps: App[] = [];
    cleanups.push({
      what: 'bare_metal apps',
      run: async () => {
        for (const app of apps) await sshd.ssh(`${sh(supervise)} stop ${sh(app.path)}`);
      },
    });
    const makeApp = async (name: string): Promise<App> => {
      const dir = await sshd.userDir(path.join(root, 'srv', name));
      await sshd.userDir(path.join(dir, 'shared'));
      const port = await freePort();
      const portFile = path.join(dir, 'shared', 'port');
      await writeFile(portFile, `${port}\n`);
      if (process.getuid?.() === 0) await chown(portFile, sshd.uid, sshd.gid);
      const app = { name, path: dir, port };
      apps.push(app);
      return app;
    };
    const [warmApp, fraisierApp, plainApp, muxApp] = [await makeApp('warmup'), await makeApp('fraisier'), await makeApp('plain'), await makeApp('mux')];

    // fraisier's worker: its own queue, a command runner that counts ssh, the bench's socket dir.
    let sshSpawns = 0;
    /** Each ssh the worker ran: which step (from its remote command line) and how long it took. */
    let sshTimes: Array<{ step: string; ms: number }> = [];
    const realRun = createCommandRunner();
    const countingRun: CommandRunner = async (command, options) => {
      if (path.basename(command.argv[0] ?? '') !== 'ssh') return realRun(command, options);
      sshSpawns++;
      const t0 = now();
      try {
        return await realRun(command, options);
      } finally {
        sshTimes.push({ step: stepOf(command.argv.at(-1) ?? ''), ms: now() - t0 });
      }
    };
    const http = new Agent({ connect: { timeout: 10_000 } });
    const queue = `${env.taskQueue}-bare-metal`;
    const { worker, connection } = await createFraisierWorker({
      settings: temporalSettings({ TEMPORAL_ADDRESS: env.temporalAddress, FRAISIER_TASK_QUEUE: queue }),
      records: env.workerRecords,
      providerDeps: { run: countingRun, http, env: { FRAISIER_SSH_CONTROL_DIR: controlDir, FRAISIER_DATA_DIR: path.join(root, 'data') } },
    });
    const running = worker.run();
    cleanups.push({
      what: 'bare_metal worker',
      run: async () => {
        worker.shutdown();
        await running.catch(() => undefined);
        await connection.close();
        await http.close();
      },
    });
    // Pushed last, run first: no shared connection outlives the phase.
    cleanups.push({ what: 'ssh masters', run: () => Promise.all([exitMasters(sshd, controlDir), exitMasters(sshd, muxDir)]) });

    const ssh = { ssh_host: sshd.host, ssh_port: sshd.port, ssh_user: sshd.user, ssh_key_path: sshd.keyPath, known_hosts: sshd.knownHostsPath, repo: repo.path };
    const environment = (app: App) => ({
      provider: 'bare_metal',
      config: { ...ssh, app_path: app.path, service_manager: supervisorCommands(app.path, supervise), build: BUILD },
      health_check: { type: 'http', port: app.port, path: '/healthz', timeout: '10s', interval: `${HEALTH_INTERVAL_S}s` },
      ready_timeout: '30s',
    });
    const configFile = path.join(root, 'fraises.yaml');
    await writeFile(configFile, JSON.stringify({ fraises: { [FRAISE]: { retain: 5, providers: { warmup: environment(warmApp), bench: environment(fraisierApp) } } } }, null, 2));
    const config = await loadConfig(configFile);

    const fraisierDeploy = async (app: App, version: string): Promise<Run> => {
      const target = resolveTarget(config, FRAISE, app.name === 'warmup' ? 'warmup' : 'bench');
      const logins = await sshd.acceptedLogins();
      const spawns = sshSpawns;
      sshTimes = [];
      const t0 = now();
      const handle = await startDeployUnderLock(env.client, target, version, 'bench', queue);
      const outcome = await handle.result();
      const wallMs = now() - t0;
      if (outcome.status !== 'succeeded' || outcome.version !== version) throw new Error(`bare_metal deploy of ${version} ended ${outcome.status}: ${outcome.detail}`);
      const handshakes = (await sshd.acceptedLogins()) - logins;
      const commands = sshSpawns - spawns;
      const steps = new Map<string, number>();
      for (const t of sshTimes) steps.set(t.step, (steps.get(t.step) ?? 0) + t.ms);
      sshTimes = [];
      if ((await healthz(app.port)) !== 200) throw new Error(`after the deploy of ${version}, /healthz does not answer 200`);
      return { version, wallMs, handshakes, commands, steps, gets: 0, upMs: Number.NaN, history: await historyBreakdown(handle) };
    };

    // Warm-up (not counted): the worker's first workflow and activities, git's and node's files in the page cache.
    await fraisierDeploy(warmApp, 'v1');
    await sshd.ssh(`${sh(supervise)} stop ${sh(warmApp.path)}`);
    // (a) starts with an empty socket dir: its deploy opens the connection the next ones share.
    await exitMasters(sshd, controlDir);
    await rm(controlDir, { recursive: true, force: true });
    const fraisierRuns: Run[] = [];
    for (let i = 0; i < n; i++) fraisierRuns.push(await fraisierDeploy(fraisierApp, versionOf(i)));

    // By hand: one ssh per step, the remote command a string as a person would type it.
    const handDeploy = async (app: App, argv: string[], version: string): Promise<Run> => {
      const steps = new Map<string, number>();
      let commands = 0;
      const remote = async (step: string, command: string): Promise<string> => {
        const t0 = now();
        const r = await execa('ssh', [...argv, command], { stdin: 'ignore', reject: false, timeout: 120_000 });
        steps.set(step, now() - t0);
        commands++;
        if (r.exitCode !== 0) throw new Error(`by hand, ${step} of ${version} failed (exit ${r.exitCode}): ${String(r.stderr || r.stdout)}`);
        return typeof r.stdout === 'string' ? r.stdout.trim() : '';
      };
      const a = sh(app.path);
      const dir = `${app.path}/releases/${version}`;
      const d = sh(dir);
      const logins = await sshd.acceptedLogins();
      const t0 = now();
      const state = await remote('look', `cat ${d}/.release 2>/dev/null || echo absent`);
      if (state === 'absent') {
        const commit = await remote(
          'fetch',
          `set -e; rm -rf ${d}; mkdir -p ${a}/releases; git init -q ${d}; cd ${d}; git fetch -q --depth 1 ${sh(repo.path)} refs/tags/${version}; ` +
            'git -c advice.detachedHead=false checkout -q --detach FETCH_HEAD; git rev-parse HEAD',
        );
        await remote('build', `cd ${d} && ${BUILD.map(sh).join(' ')}`);
        await remote('marker', `echo ${commit} > ${d}/.release`);
      }
      await remote('switch', `ln -sfn releases/${version} ${a}/.current.new && mv -fT ${a}/.current.new ${a}/current`);
      await remote('restart', `${sh(supervise)} restart ${a}`);
      const restarted = now();
      let gets = 0;
      for (;;) {
        gets++;
        if ((await healthz(app.port)) === 200) break;
        if (now() - restarted > POLL_LIMIT_MS) throw new Error(`by hand, ${version}: /healthz not 200 within ${POLL_LIMIT_MS} ms of the restart`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const upMs = now() - restarted;
      steps.set('GET /healthz until 200', upMs);
      const wallMs = now() - t0;
      return { version, wallMs, handshakes: (await sshd.acceptedLogins()) - logins, commands, steps, gets, upMs };
    };
    const plainArgv = sshArgv(sshd);
    const muxArgv = [
      '-o',
      'ControlPersist=60',
      ...plainArgv.map((o) => (o === 'ControlMaster=no' ? 'ControlMaster=auto' : o === 'ControlPath=none' ? `ControlPath=${muxDir}/%C` : o)),
    ];
    const plainRuns: Run[] = [];
    for (let i = 0; i < n; i++) plainRuns.push(await handDeploy(plainApp, plainArgv, versionOf(i)));
    await sshd.ssh(`${sh(supervise)} stop ${sh(plainApp.path)}`);
    const muxRuns: Run[] = [];
    for (let i = 0; i < n; i++) muxRuns.push(await handDeploy(muxApp, muxArgv, versionOf(i)));

    // The table.
    const per = (values: number[]): string => {
      const lo = percentile(values, 0);
      const hi = percentile(values, 100);
      return lo === hi ? String(lo) : `${lo}-${hi}`;
    };
    const row = (label: string, runs: Run[]): string[] => [
      label,
      String(runs.length),
      ms(percentile(runs.map((r) => r.wallMs), 50)),
      ms(percentile(runs.map((r) => r.wallMs), 100)),
      per(runs.map((r) => r.handshakes)),
      per(runs.map((r) => r.commands)),
    ];
    const rest = `3..${n}, reuse`;
    printTable(
      ['bare_metal deploy', 'deploys', 'p50 ms', 'max ms', 'SSH handshakes/deploy', 'remote commands/deploy'],
      [
        row('fraisier 1st (v1 fetch+build, empty socket dir)', fraisierRuns.slice(0, 1)),
        row('fraisier 2nd (v2 fetch+build)', fraisierRuns.slice(1, 2)),
        row(`fraisier next (${rest})`, fraisierRuns.slice(2)),
        row('by hand, plain ssh: fetch+build (1, 2)', plainRuns.slice(0, 2)),
        row(`by hand, plain ssh: next (${rest})`, plainRuns.slice(2)),
        row('by hand, multiplexed: 1st (v1, new socket)', muxRuns.slice(0, 1)),
        row('by hand, multiplexed: 2nd (v2 fetch+build)', muxRuns.slice(1, 2)),
        row(`by hand, multiplexed: next (${rest})`, muxRuns.slice(2)),
      ],
    );
    console.log(
      '  (fraisier: startUnderLock as the CLI does it, to the workflow\'s result, in this process - no CLI start-up; remote commands = ssh the worker spawned.\n' +
        '   by hand: first ssh to the first 200 from /healthz, GETs every 20 ms from this process; remote commands = ssh invocations.\n' +
        '   handshakes: sshd\'s "Accepted publickey" lines during the deploy.)',
    );

    // What limits them: fraisier from its histories, the hand-runs step by step.
    const hist = (r: Run): HistoryBreakdown => {
      if (!r.history) throw new Error('no history');
      return r.history;
    };
    const fRow = (label: string, runs: Run[]): string[] => {
      const p50 = (f: (b: HistoryBreakdown) => number): string => ms(percentile(runs.map((r) => f(hist(r))), 50));
      return [
        label,
        p50((b) => b.workflowMs),
        p50((b) => activityMs(b, 'checkTarget', 'validateTarget', 'preflight')),
        p50((b) => activityMs(b, 'deployVersion')),
        `${p50((b) => activityMs(b, 'probeReadiness'))} (${per(runs.map((r) => activityCount(hist(r), 'probeReadiness')))})`,
        `${p50((b) => activityMs(b, 'probeHealth'))} (${per(runs.map((r) => activityCount(hist(r), 'probeHealth')))})`,
        p50((b) => b.timersMs),
        p50((b) => activityMs(b, 'recordStart', 'recordSucceeded', 'recordRelease', 'recordResult')),
        p50((b) => activityMs(b, 'pruneProviderReleases')),
        p50((b) => b.workflowTasksMs),
      ];
    };
    console.log();
    printTable(
      ['fraisier, p50 ms from the history', 'workflow', 'preflight', 'deployVersion', 'readiness (n)', 'health (n)', 'timers', 'records', 'prune', 'wf tasks'],
      [fRow('1st (fetch+build, new connection)', fraisierRuns.slice(0, 1)), fRow('2nd (fetch+build)', fraisierRuns.slice(1, 2)), fRow(`next (${rest})`, fraisierRuns.slice(2))],
    );
    console.log(`  (timers: the workflow's sleeps between probes, ${HEALTH_INTERVAL_S} s health interval / 1 s first readiness backoff; activities scheduled-to-closed)`);
    const sshSteps = ['preflight', 'look', 'fetch', 'build', 'marker', 'switch', 'restart', 'list', 'status', 'other'];
    const sshRow = (label: string, runs: Run[]): string[] => [
      label,
      ...sshSteps.map((step) => {
        const values = runs.flatMap((r) => (r.steps.has(step) ? [r.steps.get(step) ?? 0] : []));
        return values.length === 0 ? '-' : ms(percentile(values, 50));
      }),
      ms(percentile(runs.map((r) => [...r.steps.values()].reduce((a, b) => a + b, 0)), 50)),
    ];
    console.log();
    printTable(
      ['fraisier, p50 ms of its ssh per step', ...sshSteps, 'all ssh'],
      [sshRow('1st (fetch+build, new connection)', fraisierRuns.slice(0, 1)), sshRow('2nd (fetch+build)', fraisierRuns.slice(1, 2)), sshRow(`next (${rest})`, fraisierRuns.slice(2))],
    );
    console.log('  (summed per deploy: list = readiness + prune, status = readiness + health; spawn to exit, as the worker sees it)');

    const stepNames = ['look', 'fetch', 'build', 'marker', 'switch', 'restart', 'GET /healthz until 200'];
    const stepRow = (label: string, runs: Run[]): string[] => [
      label,
      ...stepNames.map((s) => {
        const values = runs.flatMap((r) => (r.steps.has(s) ? [r.steps.get(s) ?? 0] : []));
        return values.length === 0 ? '-' : ms(percentile(values, 50));
      }),
      per(runs.map((r) => r.gets)),
    ];
    console.log();
    printTable(
      ['by hand, p50 ms per step', ...stepNames, 'GETs'],
      [
        stepRow('plain ssh, fetch+build (1, 2)', plainRuns.slice(0, 2)),
        stepRow(`plain ssh, next (${rest})`, plainRuns.slice(2)),
        stepRow('multiplexed, 1st (new socket)', muxRuns.slice(0, 1)),
        stepRow('multiplexed, 2nd (v2 fetch+build)', muxRuns.slice(1, 2)),
        stepRow(`multiplexed, next (${rest})`, muxRuns.slice(2)),
      ],
    );
    console.log('  (restart: supervise.sh stop (TERM, polls every 0.1 s) then start (polls for the pid file every 0.1 s); GET: from the restart\'s return to the app\'s first 200)');
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        console.error(`bare_metal cleanup of ${c.what} failed: ${(err as Error).message}`);
      }
    }
  }
}
