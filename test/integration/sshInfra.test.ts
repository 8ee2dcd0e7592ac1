/**
 * The bare_metal test infrastructure itself: a throwaway sshd on 127.0.0.1 (test/support/sshd.ts), the app
 * repository and its supervisor (test/support/bareMetalApp.ts, test/fixtures/bare_metal/supervise.sh). Everything
 * runs for real: ssh, git as the login user, the node app detached by the supervisor.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppRepo, createAppRepo, installSupervisor, supervisorCommands } from '../support/bareMetalApp';
import { type SshdHandle, sshArgv, sshLoginUser, startSshd } from '../support/sshd';
import { until } from '../support/until';
import { freePort } from '../../workers/devServer';

let h: SshdHandle;
let base: string;
let repo: AppRepo;
let supervise: string;
const appPids = new Set<number>();


function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A POSIX-shell single-quoted word. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** One remote command string from an argv. */
const cmd = (argv: string[]): string => argv.map(q).join(' ');

async function get(port: number, pathname: string): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${pathname}`, { reset: true, headersTimeout: 2000, bodyTimeout: 2000 });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Polls `pathname` until it answers (the app was just started); a bounded number of short tries. */
async function getWhenUp(port: number, pathname: string, ms = 10_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await get(port, pathname);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`127.0.0.1:${port}${pathname} did not answer within ${ms} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function recordPid(appPath: string): Promise<void> {
  const pid = Number((await readFile(path.join(appPath, 'shared', 'app.pid'), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0) appPids.add(pid);
}

/** An app dir owned by the login user: releases/<tag> cloned at the tag, shared/port, current -> releases/<tag>. */
async function appDir(name: string, port: number, tags: string[], currentTag: string | undefined): Promise<string> {
  const appPath = await h.userDir(path.join(base, name));
  const releases = await h.userDir(path.join(appPath, 'releases'));
  const shared = await h.userDir(path.join(appPath, 'shared'));
  await writeFile(path.join(shared, 'port'), `${port}\n`);
  await chmod(path.join(shared, 'port'), 0o644);
  for (const tag of tags) {
    const r = await h.ssh(cmd(['git', 'clone', '-q', '--branch', tag, repo.path, path.join(releases, tag)]));
    expect(r, r.stderr).toMatchObject({ exitCode: 0 });
  }
  if (currentTag !== undefined) {
    const r = await h.ssh(cmd(['ln', '-s', `releases/${currentTag}`, path.join(appPath, 'current')]));
    expect(r.exitCode, r.stderr).toBe(0);
  }
  return appPath;
}

beforeAll(async () => {
  h = await startSshd();
  base = await mkdtemp(path.join(tmpdir(), 'fraisier-ssh-infra-'));
  await chmod(base, 0o755); // the login user walks through it to its own dirs below
  repo = await createAppRepo(path.join(base, 'repo'), [{ tag: 'v1' }, { tag: 'v2', broken: true }]);
  supervise = await installSupervisor(h, path.join(base, 'bin'));
});

afterAll(async () => {
  for (const pid of appPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already stopped.
    }
  }
  await h?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('throwaway sshd', () => {
  it('logs the generated key in as the login user', async () => {
    const who = await sshLoginUser();
    expect(h.user).toBe(who.user);
    if (process.getuid?.() === 0) expect(h.user).toBe('fraisier-ssh'); // setup.sh creates it on the test machines
    const r = await h.ssh('id -un; id -u; pwd');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([h.user, String(h.uid), h.home]);
    expect(h.hostKeyLine).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${h.port} ssh-ed25519 AAAA\\S+$`));
    expect(await readFile(h.knownHostsPath, 'utf8')).toBe(`${h.hostKeyLine}\n`);
  });

  it('refuses the other key', async () => {
    const r = await execa('ssh', [...sshArgv(h, { keyPath: h.otherKeyPath }), 'true'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('refuses a server missing from known_hosts under StrictHostKeyChecking=yes', async () => {
    const empty = path.join(base, 'empty_known_hosts');
    await writeFile(empty, '');
    const r = await execa('ssh', [...sshArgv(h, { knownHostsPath: empty }), 'true'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  it('counts one accepted login per fresh connection, none for a refused one', async () => {
    const before = await h.acceptedLogins();
    expect((await h.ssh('true')).exitCode).toBe(0);
    await until('one more accepted login', async () => (await h.acceptedLogins()) === before + 1, 5000);
    expect((await h.ssh('true')).exitCode).toBe(0);
    await until('two more accepted logins', async () => (await h.acceptedLogins()) === before + 2, 5000);
    await execa('ssh', [...sshArgv(h, { keyPath: h.otherKeyPath }), 'true'], { reject: false, stdin: 'ignore' });
    expect((await h.ssh('true')).exitCode).toBe(0);
    await until('three more accepted logins', async () => (await h.acceptedLogins()) === before + 3, 5000);
    expect(await readFile(h.logPath, 'utf8')).toContain(`Accepted publickey for ${h.user} from 127.0.0.1`);
  });
});

describe('multiplexing and stop', () => {
  it('runs many sessions over one multiplexed connection: one accepted login', async () => {
    const controlPath = path.join(base, 'cm-%C');
    const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=30'];
    const before = await h.acceptedLogins();
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => i).map(async (i) => {
        // The first one opens the master; the others wait for it, then all share its connection.
        if (i > 0) await until('the control master', async () => (await execa('ssh', [...mux, '-O', 'check', ...sshArgv(h)], { reject: false, stdin: 'ignore' })).exitCode === 0);
        return execa('ssh', [...mux, ...sshArgv(h), `echo ${i}`], { reject: false, stdin: 'ignore' });
      }),
    );
    expect(runs.map((r) => [r.exitCode, r.stdout])).toEqual(Array.from({ length: 12 }, (_, i) => [0, String(i)]));
    expect(await h.acceptedLogins()).toBe(before + 1);
    await execa('ssh', [...mux, '-O', 'exit', ...sshArgv(h)], { reject: false, stdin: 'ignore' });
  });

  it('stop() ends the sessions in progress, closes the port and removes its files', async () => {
    const other = await startSshd();
    try {
      const session = execa('ssh', [...sshArgv(other), 'sleep 60'], { reject: false, stdin: 'ignore' });
      await until('the session', async () => (await readFile(other.logPath, 'utf8')).includes('Starting session'), 10_000);
      const t0 = Date.now();
      await other.stop();
      const r = await session;
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(r.exitCode).not.toBe(0);
      expect(await portOpen(other.port)).toBe(false);
      await expect(readFile(other.keyPath)).rejects.toThrow(/ENOENT/);
    } finally {
      await other.stop();
    }
  });
});

describe('app repository and supervisor over ssh', () => {
  it('lets the login user clone the repository at a tag', async () => {
    expect(Object.keys(repo.commits)).toEqual(['v1', 'v2']);
    expect(repo.commits.v1).toMatch(/^[0-9a-f]{40}$/);
    expect(repo.commits.v2).not.toBe(repo.commits.v1);
    const dest = path.join(await h.userDir(path.join(base, 'clones')), 'v1');
    const clone = await h.ssh(cmd(['git', 'clone', '-q', '--branch', 'v1', repo.path, dest]));
    expect(clone.exitCode, clone.stderr).toBe(0);
    const head = await h.ssh(`cd ${q(dest)} && git rev-parse HEAD && cat VERSION && stat -c %U server.js`);
    expect(head.exitCode, head.stderr).toBe(0);
    expect(head.stdout.split('\n')).toEqual([repo.commits.v1, 'v1', h.user]);
    // A fetch of another tag into the same clone, the way a deploy updates a release dir.
    const fetch = await h.ssh(`cd ${q(dest)} && git fetch -q origin tag v2 && git rev-parse 'v2^{commit}'`);
    expect(fetch.exitCode, fetch.stderr).toBe(0);
    expect(fetch.stdout).toBe(repo.commits.v2);
  });

  it('starts the app detached, reports it, stops it', async () => {
    const port = await freePort();
    const appPath = await appDir('app-ok', port, ['v1'], 'v1');
    const sup = supervisorCommands(appPath, supervise);

    const t0 = Date.now();
    const start = await h.ssh(cmd(sup.start));
    const took = Date.now() - t0;
    await recordPid(appPath);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(took).toBeLessThan(5000);

    const health = await getWhenUp(port, '/healthz');
    expect(health).toEqual({ status: 200, body: 'ok v1' });
    expect(await get(port, '/')).toEqual({ status: 200, body: 'v1' });

    const pid = (await readFile(path.join(appPath, 'shared', 'app.pid'), 'utf8')).trim();
    const status = await h.ssh(cmd(sup.status));
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toBe(`running (pid ${pid}, release v1)`);

    const again = await h.ssh(cmd(sup.start));
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe(`already running (pid ${pid})`);

    const logs = await h.ssh(cmd(sup.logs));
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/listening on 127\.0\.0\.1/);
    expect(logs.stdout).toMatch(/GET \/healthz 200/);

    const stop = await h.ssh(cmd(sup.stop));
    expect(stop.exitCode, stop.stderr).toBe(0);
    const stopped = await h.ssh(cmd(sup.status));
    expect(stopped.exitCode).toBe(3);
    expect(stopped.stdout).toBe('stopped');
    expect(await portOpen(port)).toBe(false);
    expect((await h.ssh(cmd(sup.stop))).exitCode).toBe(0); // stopping a stopped app is fine
  });

  it('restarts into the release current points at; a broken release answers 500 on /healthz', async () => {
    const port = await freePort();
    const appPath = await appDir('app-switch', port, ['v1', 'v2'], 'v1');
    const sup = supervisorCommands(appPath, supervise);
    expect((await h.ssh(cmd(sup.start))).exitCode).toBe(0);
    await recordPid(appPath);
    expect(await getWhenUp(port, '/healthz')).toEqual({ status: 200, body: 'ok v1' });

    // Atomic switch: a new symlink renamed over the old one.
    const current = path.join(appPath, 'current');
    const sw = await h.ssh(`ln -s releases/v2 ${q(`${current}.new`)} && mv -T ${q(`${current}.new`)} ${q(current)}`);
    expect(sw.exitCode, sw.stderr).toBe(0);
    const restart = await h.ssh(cmd(sup.restart));
    expect(restart.exitCode, restart.stderr).toBe(0);
    await recordPid(appPath);
    expect(await getWhenUp(port, '/healthz')).toEqual({ status: 500, body: 'broken v2' });
    expect(await get(port, '/')).toEqual({ status: 200, body: 'v2' });
    expect((await h.ssh(cmd(sup.status))).stdout).toMatch(/^running \(pid \d+, release v2\)$/);

    expect((await h.ssh(cmd(sup.stop))).exitCode).toBe(0);
    expect(await portOpen(port)).toBe(false);
  });

  it('refuses to start without a current release, and rejects unknown commands', async () => {
    const appPath = await appDir('app-empty', await freePort(), [], undefined);
    const start = await h.ssh(cmd(supervisorCommands(appPath, supervise).start));
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toMatch(/current is missing/);
    const bad = await h.ssh(cmd([supervise, 'bounce', appPath]));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/usage/);
  });
});
