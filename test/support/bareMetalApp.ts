/**
 * The app the bare_metal tests deploy: a real git repository (one commit and one annotated tag per version) of a
 * tiny node HTTP server, and the supervisor script (test/fixtures/bare_metal/supervise.sh) that starts and stops it.
 *
 * Ownership: the repository is fetched by `git` running as the ssh login user (see sshLoginUser), from a local path.
 * Git refuses to read a repository owned by another user ("detected dubious ownership", safe.directory), so the
 * repository is built as the current user and then, when that is root and the login user is someone else, handed
 * over to the login user with chown -R (dirs 0755, files 0644 as well, so anyone may read it). Consequence: after
 * createAppRepo, git commands the tests run in the repository as root need `-c safe.directory=<path>`.
 */
import { chmod, chown, copyFile, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type SshdHandle, sshLoginUser } from './sshd';

export const SUPERVISE_SH = fileURLToPath(new URL('../fixtures/bare_metal/supervise.sh', import.meta.url));

export interface AppVersion {
  tag: string;
  /** The version's /healthz answers 500 "broken <tag>". */
  broken?: boolean;
}

export interface AppRepo {
  /** Absolute path of the repository (its working tree); clone or fetch from it by path. */
  path: string;
  /** The commit sha each tag names. */
  commits: Record<string, string>;
}

export interface SupervisorCommands {
  start: string[];
  stop: string[];
  restart: string[];
  status: string[];
  logs: string[];
}

/**
 * server.js of every version: listens on 127.0.0.1:$PORT; GET /healthz answers 200 "ok <version>" (500
 * "broken <version>" when VERSION marks it broken), GET / answers 200 "<version>"; one log line at start and one
 * per request on stdout; exits on SIGTERM. CommonJS, with a package.json saying so (a release dir below a
 * "type": "module" package would otherwise load it as ESM).
 */
export const SERVER_JS = `'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const lines = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').split('\\n').map((l) => l.trim());
const version = lines[0];
const broken = lines.includes('broken');
const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('server.js: PORT is not a port: ' + JSON.stringify(process.env.PORT));
  process.exit(1);
}

const server = http.createServer((req, res) => {
  let status = 200;
  let body;
  if (req.url === '/healthz') {
    status = broken ? 500 : 200;
    body = (broken ? 'broken ' : 'ok ') + version;
  } else if (req.url === '/') {
    body = version;
  } else {
    status = 404;
    body = 'not found';
  }
  console.log(new Date().toISOString() + ' ' + version + ' ' + req.method + ' ' + req.url + ' ' + status);
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => {
  console.log(new Date().toISOString() + ' ' + version + (broken ? ' (broken)' : '') + ' listening on 127.0.0.1:' + port + ', pid ' + process.pid);
});
process.on('SIGTERM', () => {
  console.log(new Date().toISOString() + ' ' + version + ' SIGTERM: exiting');
  process.exit(0);
});
`;

// Ignore the machine's and the user's git configuration; the identity comes from -c below.
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const GIT_IDENTITY = ['-c', 'user.name=fraisier test', '-c', 'user.email=test@fraisier.invalid', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false'];

async function git(cwd: string, args: string[]): Promise<string> {
  const r = await execa('git', [...GIT_IDENTITY, ...args], { cwd, env: GIT_ENV, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/** chmod dirs 0755 / files 0644 (executables 0755) and, when uid is given, chown everything below `root`. */
async function handOver(root: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  const visit = async (p: string): Promise<void> => {
    const s = await lstat(p);
    if (s.isSymbolicLink()) {
      if (owner) await execa('chown', ['-h', `${owner.uid}:${owner.gid}`, p]);
      return;
    }
    if (s.isDirectory()) {
      await chmod(p, 0o755);
      for (const entry of await readdir(p)) await visit(path.join(p, entry));
    } else {
      await chmod(p, (s.mode & 0o111) !== 0 ? 0o755 : 0o644);
    }
    if (owner) await chown(p, owner.uid, owner.gid);
  };
  await visit(root);
}

/**
 * A git repository at `dir` (created; must be empty or absent) with one commit and one annotated tag per version, in
 * order. Files: server.js (SERVER_JS), package.json, VERSION ("<tag>\n", plus a "broken" line for broken versions).
 * Readable by everyone and owned by the ssh login user (see the module comment).
 */
export async function createAppRepo(dir: string, versions: AppVersion[]): Promise<AppRepo> {
  if (versions.length === 0) throw new Error('createAppRepo: no versions');
  const repo = path.resolve(dir);
  await mkdir(repo, { recursive: true });
  if ((await readdir(repo)).length > 0) throw new Error(`createAppRepo: ${repo} is not empty`);
  await git(repo, ['init', '-q', '-b', 'main']);
  await writeFile(path.join(repo, 'server.js'), SERVER_JS);
  await writeFile(
    path.join(repo, 'package.json'),
    `${JSON.stringify({ name: 'fraisier-test-app', private: true, type: 'commonjs', main: 'server.js' }, null, 2)}\n`,
  );
  const commits: Record<string, string> = {};
  for (const v of versions) {
    await writeFile(path.join(repo, 'VERSION'), `${v.tag}\n${v.broken ? 'broken\n' : ''}`);
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '--allow-empty', '-m', `${v.tag}${v.broken ? ' (broken)' : ''}`]);
    await git(repo, ['tag', '-a', v.tag, '-m', `release ${v.tag}`]);
    commits[v.tag] = await git(repo, ['rev-parse', `${v.tag}^{commit}`]);
  }
  const login = await sshLoginUser();
  const chownTo = process.getuid?.() === 0 && login.uid !== 0 ? { uid: login.uid, gid: login.gid } : undefined;
  await handOver(repo, chownTo);
  return { path: repo, commits };
}

/** The supervisor's commands for the app at `appPath`, as argv arrays. */
export function supervisorCommands(appPath: string, supervisePath: string): SupervisorCommands {
  return {
    start: [supervisePath, 'start', appPath],
    stop: [supervisePath, 'stop', appPath],
    restart: [supervisePath, 'restart', appPath],
    status: [supervisePath, 'status', appPath],
    logs: [supervisePath, 'logs', appPath],
  };
}

/**
 * Copies supervise.sh into `dir` (created with handle.userDir when missing; the login user must be able to reach
 * it) as an executable the login user can run, and returns its path.
 */
export async function installSupervisor(handle: SshdHandle, dir: string): Promise<string> {
  await handle.userDir(dir, 0o755);
  const target = path.join(dir, 'supervise.sh');
  await copyFile(SUPERVISE_SH, target);
  await chmod(target, 0o755);
  if (process.getuid?.() === 0) await chown(target, handle.uid, handle.gid);
  return target;
}
