/**
 * bare_metal end to end: a real OpenSSH server on a loopback port (generated keys), real git repositories, and a
 * real process supervisor (test/fixtures/bare_metal/supervise.sh, a pid file) running a real node HTTP server;
 * driven through the CLI and the workflows, as a user runs them.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/exitCodes';
import { loadConfig } from '../../config/load';
import { resolveTarget } from '../../config/resolve';
import { freePort } from '../../workers/devServer';
import { startDeployUnderLock } from '../support/deploys';
import { createAppRepo, installSupervisor, supervisorCommands, type AppRepo } from '../support/bareMetalApp';
import { runCli } from '../support/cli';
import { saveHistory } from '../support/histories';
import { startSshd, type SshdHandle } from '../support/sshd';
import { startWorkerStack, type WorkerStack } from '../support/workerStack';
import { spawnWorker } from '../support/workers';

const taskQueue = `fraisier-bare-metal-${process.pid}`;
const crashQueue = `${taskQueue}-crash`;
let sshd: SshdHandle;
let stack: WorkerStack;
let root: string;
let repo: AppRepo;
let configFile: string;
let env: Record<string, string>;
let controlDir: string;
const apps: Record<string, { path: string; port: number }> = {};

async function body(port: number, p = '/'): Promise<string> {
  try {
    const r = await request(`http://127.0.0.1:${port}${p}`, { headersTimeout: 3000, bodyTimeout: 3000 });
    return `${r.statusCode} ${(await r.body.text()).trim()}`;
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

async function link(app: string, name: 'current' | 'previous'): Promise<string | null> {
  return fs.readlink(path.join(app, name)).catch(() => null);
}

async function releases(app: string): Promise<string[]> {
  return (await fs.readdir(path.join(app, 'releases')).catch(() => [])).sort();
}

/** An app directory of the login user's, with the port its app listens on. */
async function makeApp(name: string): Promise<{ path: string; port: number }> {
  const app = await sshd.userDir(path.join(root, 'srv', name));
  const port = await freePort();
  await sshd.userDir(path.join(app, 'shared'));
  await fs.writeFile(path.join(app, 'shared', 'port'), `${port}\n`);
  if (process.getuid?.() === 0) await fs.chown(path.join(app, 'shared', 'port'), sshd.uid, sshd.gid);
  apps[name] = { path: app, port };
  return apps[name];
}

beforeAll(async () => {
  sshd = await startSshd();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-bm-'));
  await fs.chmod(root, 0o755);
  repo = await createAppRepo(path.join(root, 'repo'), [{ tag: 'v1' }, { tag: 'v2' }, { tag: 'v3', broken: true }]);
  const supervise = await installSupervisor(sshd, path.join(root, 'bin'));
  const main = await makeApp('main');
  const loop = await makeApp('loopback');
  const crash = await makeApp('crash');
  const unwritableParent = path.join(root, 'root-owned');
  await fs.mkdir(unwritableParent, { mode: 0o755 });
  const emptyKnownHosts = path.join(root, 'empty_known_hosts');
  await fs.writeFile(emptyKnownHosts, '');
  const acceptNewKnownHosts = path.join(root, 'accept_new_known_hosts');
  const ssh = { ssh_host: sshd.host, ssh_port: sshd.port, ssh_user: sshd.user, ssh_key_path: sshd.keyPath, known_hosts: sshd.knownHostsPath, repo: repo.path };
  const commands = (app: string) => supervisorCommands(app, supervise);
  const http = (port: number, extra: Record<string, unknown> = {}) => ({ type: 'http', port, path: '/healthz', timeout: '8s', interval: '1s', ...extra });
  const config = {
    fraises: {
      shop: {
        retain: 2,
        providers: {
          prod: {
            provider: 'bare_metal',
            config: { ...ssh, app_path: main.path, service_manager: commands(main.path), build: ['sh', '-c', 'echo "built $(cat VERSION | head -1)" > BUILT'] },
            health_check: http(main.port),
            ready_timeout: '30s',
          },
          loopback: {
            provider: 'bare_metal',
            config: { ...ssh, app_path: loop.path, service_manager: commands(loop.path) },
            health_check: http(loop.port, { from: 'server', body: 'ok v' }),
            ready_timeout: '30s',
          },
          // The loopback app, judged by a body it does not serve (status reads it, nothing is deployed with it).
          wrongbody: {
            provider: 'bare_metal',
            config: { ...ssh, app_path: loop.path, service_manager: commands(loop.path) },
            health_check: http(loop.port, { from: 'server', body: 'ok v2' }),
          },
          crash: {
            provider: 'bare_metal',
            task_queue: crashQueue,
            config: {
              ...ssh,
              app_path: crash.path,
              service_manager: { ...commands(crash.path), restart: ['sh', '-c', 'sleep 4 && exec "$0" restart "$1"', supervise, crash.path] },
            },
            health_check: http(crash.port),
            ready_timeout: '30s',
          },
          badkey: { provider: 'bare_metal', config: { ...ssh, ssh_key_path: sshd.otherKeyPath, app_path: main.path, service_manager: 'none' } },
          unknownhost: { provider: 'bare_metal', config: { ...ssh, known_hosts: emptyKnownHosts, app_path: main.path, service_manager: 'none' } },
          acceptnew: {
            provider: 'bare_metal',
            config: { ...ssh, known_hosts: acceptNewKnownHosts, host_key_checking: 'accept-new', app_path: main.path, service_manager: 'none' },
          },
          readonly: { provider: 'bare_metal', config: { ...ssh, app_path: path.join(unwritableParent, 'app'), service_manager: 'none' } },
        },
      },
    },
  };
  configFile = path.join(root, 'fraises.yaml');
  await fs.writeFile(configFile, JSON.stringify(config, null, 2));
  controlDir = path.join(root, 'ssh-control');
  stack = await startWorkerStack({ taskQueue, workerEnv: { FRAISIER_SSH_CONTROL_DIR: controlDir, FRAISIER_DATA_DIR: path.join(root, 'data') } });
  env = stack.cliEnv;
});

afterAll(async () => {
  for (const app of Object.values(apps)) await sshd?.ssh(`test -x ${root}/bin/supervise.sh && ${root}/bin/supervise.sh stop ${app.path}`).catch(() => undefined);
  await stack?.close();
  await sshd?.stop();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('bare_metal over a real sshd', () => {
  it('pre-flight passes, and a deploy is one SSH handshake: fetch at the tag, build, switch, restart, health', async () => {
    const test = await runCli(['provider-test', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(test.code, test.stdout + test.stderr).toBe(EXIT.ok);
    expect(test.stdout).toContain(`logged in to 127.0.0.1:${sshd.port} as ${sshd.user}`);

    // A fresh socket directory: the deploy opens the one connection it uses.
    await fs.rm(controlDir, { recursive: true, force: true });
    const logins = await sshd.acceptedLogins();
    const started = Date.now();
    const r = await runCli(['deploy', 'shop', 'prod', '--version', 'v1', '--config', configFile, '--json'], env);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.ok);
    const handshakes = (await sshd.acceptedLogins()) - logins;
    process.stdout.write(`bare_metal deploy of v1 end to end (CLI, workflow, loopback sshd): ${seconds.toFixed(2)} s, ${handshakes} SSH handshake(s)\n`);
    expect(handshakes).toBe(1);
    const out = r.json<{ workflowId: string; outcome: { status: string; version: string } }>();
    expect(out.workflowId).toBe('bare_metal:shop:prod');
    expect(out.outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
    const app = apps.main as { path: string; port: number };
    expect(await body(app.port)).toBe('200 v1');
    expect(await link(app.path, 'current')).toBe('releases/v1');
    expect(await fs.readFile(path.join(app.path, 'current', 'BUILT'), 'utf8')).toBe('built v1\n');
    expect((await fs.readFile(path.join(app.path, 'releases/v1/.fraisier-release'), 'utf8')).trim()).toBe(repo.commits.v1);
    await saveHistory(stack.client, out.workflowId, 'bare-metal-deploy-succeeded');
  });

  it('deploys v2; a broken v3 fails its health check and is switched back to v2, which serves again', async () => {
    const app = apps.main as { path: string; port: number };
    const second = await runCli(['deploy', 'shop', 'prod', '--version', 'v2', '--config', configFile], env);
    expect(second.code, second.stdout + second.stderr).toBe(EXIT.ok);
    expect(await body(app.port)).toBe('200 v2');
    expect(await link(app.path, 'previous')).toBe('releases/v1');

    const third = await runCli(['deploy', 'shop', 'prod', '--version', 'v3', '--config', configFile, '--json'], env);
    expect(third.code).toBe(EXIT.failed);
    const res = third.json<{ workflowId: string; error: string; outcome: { status: string; rolledBackTo: string; logs: string } }>();
    expect(res.outcome).toMatchObject({ status: 'rolled_back', rolledBackTo: 'v2' });
    expect(res.error).toContain('rolled back automatically to v2');
    expect(res.error).toMatch(/status 500/);
    expect(res.outcome.logs).toContain('listening');
    expect(await link(app.path, 'current')).toBe('releases/v2');
    expect(await body(app.port)).toBe('200 v2');
    expect(await body(app.port, '/healthz')).toBe('200 ok v2');
    await saveHistory(stack.client, res.workflowId, 'bare-metal-deploy-rolled-back');
  });

  it('rolls back by hand with the switch alone (no fetch, no build), and prunes old releases but never current or previous', async () => {
    const app = apps.main as { path: string; port: number };
    const marker = path.join(app.path, 'releases/v1/.fraisier-release');
    const before = (await fs.stat(marker)).mtimeMs;
    const built = (await fs.stat(path.join(app.path, 'releases/v1/BUILT'))).mtimeMs;
    const r = await runCli(['rollback', 'shop', 'prod', '--to', 'v1', '--config', configFile, '--json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.ok);
    expect(await body(app.port)).toBe('200 v1');
    expect(await link(app.path, 'current')).toBe('releases/v1');
    expect(await link(app.path, 'previous')).toBe('releases/v2');
    expect((await fs.stat(marker)).mtimeMs).toBe(before);
    expect((await fs.stat(path.join(app.path, 'releases/v1/BUILT'))).mtimeMs).toBe(built);
    // retain 2: v1 and v2 are the recorded releases (and current/previous); v3 never succeeded.
    expect(await releases(app.path)).toEqual(['v1', 'v2']);
  });

  it('shows logs and status', async () => {
    const logs = await runCli(['logs', 'shop', 'prod', '--tail', '5', '--config', configFile], env);
    expect(logs.code, logs.stderr).toBe(EXIT.ok);
    expect(logs.stdout.trim().split('\n').length).toBeLessThanOrEqual(6);
    expect(logs.stdout).toMatch(/GET|listening/);
    const status = await runCli(['status', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(status.stdout).toContain('current -> releases/v1');
    expect(status.stdout).toMatch(/"state": ?"running"/);
    expect(status.stdout).toMatch(/status 200/);
  });

  it('stops and starts the service through the configured commands', async () => {
    const app = apps.main as { path: string; port: number };
    const stop = await runCli(['stop', 'shop', 'prod', '--config', configFile], env);
    expect(stop.code, stop.stdout + stop.stderr).toBe(EXIT.ok);
    expect(await body(app.port)).toMatch(/^unreachable/);
    const status = await runCli(['status', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(status.stdout).toMatch(/"state": ?"stopped"/);
    const start = await runCli(['start', 'shop', 'prod', '--config', configFile], env);
    expect(start.code, start.stdout + start.stderr).toBe(EXIT.ok);
    expect(await body(app.port)).toBe('200 v1');
  });

  it('health-checks from the server (an app on its loopback), with a body match', async () => {
    const app = apps.loopback as { path: string; port: number };
    const ok = await runCli(['deploy', 'shop', 'loopback', '--version', 'v1', '--config', configFile, '--json'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(EXIT.ok);
    const bad = await runCli(['deploy', 'shop', 'loopback', '--version', 'v3', '--config', configFile, '--json'], env);
    expect(bad.code).toBe(EXIT.failed);
    const res = bad.json<{ error: string; outcome: { rolledBackTo: string } }>();
    expect(res.outcome.rolledBackTo).toBe('v1');
    expect(res.error).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/healthz from 127\.0\.0\.1: status 500/);
    expect(await link(app.path, 'current')).toBe('releases/v1');
    expect(await body(app.port, '/healthz')).toBe('200 ok v1');
    const status = await runCli(['status', 'shop', 'wrongbody', '--config', configFile, '--json'], env);
    expect(status.stdout).toMatch(/"state": ?"unhealthy"/);
    expect(status.stdout).toMatch(/from 127\.0\.0\.1: status 200, body does not contain \\"ok v2\\", got \\"ok v1\\"/);
  });

  it('refuses before changing anything: a key the server refuses, an unknown host key, an unwritable app_path (exit 2)', async () => {
    const badkey = await runCli(['deploy', 'shop', 'badkey', '--version', 'v1', '--config', configFile], env);
    expect(badkey.code).toBe(EXIT.badInput);
    expect(badkey.stdout + badkey.stderr).toMatch(new RegExp(`could not log in to ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} with the key ${sshd.otherKeyPath.replace(/[.]/g, '\\.')}`));

    const unknown = await runCli(['deploy', 'shop', 'unknownhost', '--version', 'v1', '--config', configFile], env);
    expect(unknown.code).toBe(EXIT.badInput);
    expect(unknown.stdout + unknown.stderr).toMatch(/host key is not in .*empty_known_hosts.*host_key_checking: accept-new/s);
    expect(await fs.readFile(path.join(root, 'empty_known_hosts'), 'utf8')).toBe('');

    if (sshd.uid !== 0) {
      const ro = await runCli(['deploy', 'shop', 'readonly', '--version', 'v1', '--config', configFile], env);
      expect(ro.code).toBe(EXIT.badInput);
      expect(ro.stdout + ro.stderr).toMatch(new RegExp(`${path.join(root, 'root-owned')} is not writable by ${sshd.user}`));
      expect(existsSync(path.join(root, 'root-owned', 'app'))).toBe(false);
    }

    const accept = await runCli(['provider-test', 'shop', 'acceptnew', '--config', configFile], env);
    expect(accept.code, accept.stdout + accept.stderr).toBe(EXIT.ok);
    expect(await fs.readFile(path.join(root, 'accept_new_known_hosts'), 'utf8')).toContain(sshd.hostKeyLine.split(' ').slice(1).join(' '));
  });

  it('refuses a hostile version before anything runs (no SSH connection at all)', async () => {
    const logins = await sshd.acceptedLogins();
    for (const version of ['$(touch /tmp/pwned)', 'v1;reboot', '-v1', 'v1..v2', 'v1 v2']) {
      const r = await runCli(['deploy', 'shop', 'prod', '--version', version, '--config', configFile], env);
      expect(r.code, version).toBe(EXIT.badInput);
    }
    expect(await sshd.acceptedLogins()).toBe(logins);
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('a worker killed mid-deploy (during the restart) is replaced: the deploy finishes, no second fetch, current never half-switched', async () => {
    const app = apps.crash as { path: string; port: number };
    const workerEnv = { ...env, FRAISIER_TASK_QUEUE: crashQueue };
    const first = spawnWorker(workerEnv);
    let second: ReturnType<typeof spawnWorker> | undefined;
    try {
      expect(await first.ready(), first.output()).toBe(true);
      const target = resolveTarget(await loadConfig(configFile), 'shop', 'crash');
      const handle = await startDeployUnderLock(stack.client, target, 'v1', 'crash-test', crashQueue);
      let seen = '';
      for (let i = 0; i < 1500 && !seen.startsWith('restart:'); i++) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const deploying = pending.find((p) => p.activityType?.name === 'deployVersion');
        const payload = deploying?.heartbeatDetails?.payloads?.[0]?.data;
        seen = payload ? (JSON.parse(Buffer.from(payload).toString()) as { message?: string }).message ?? '' : '';
        if (!seen.startsWith('restart:')) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen, 'the deploy step was never seen restarting').toMatch(/^restart:/);
      const marker = path.join(app.path, 'releases/v1/.fraisier-release');
      const markedAt = (await fs.stat(marker)).mtimeMs;
      first.kill('SIGKILL');
      expect(await link(app.path, 'current')).toBe('releases/v1');
      second = spawnWorker(workerEnv);
      expect(await second.ready(), second.output()).toBe(true);
      const outcome = await handle.result();
      expect(outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
      expect((await fs.stat(marker)).mtimeMs).toBe(markedAt);
      expect(second.output()).toContain('already complete');
      expect(await link(app.path, 'current')).toBe('releases/v1');
      expect(await body(app.port)).toBe('200 v1');
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
    }
  });
});
