/**
 * Makes sure a Docker engine answers on the default socket, starting a throwaway dockerd when none does.
 * The engine uses the vfs storage driver and no iptables/bridge, so it runs inside a plain container or VM;
 * test containers use `network_mode: host`.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { execa } from 'execa';

const DATA_ROOT = '/var/lib/fraisier-test-docker';
const EXEC_ROOT = '/var/run/fraisier-test-docker';
const PID_FILE = '/var/run/fraisier-test-docker.pid';
const SOCKET = 'unix:///var/run/docker.sock';
export const DOCKERD_LOG = '/tmp/fraisier-test-dockerd.log';

let ready: Promise<void> | undefined;

async function dockerAnswers(): Promise<boolean> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 });
  return r.exitCode === 0 && typeof r.stdout === 'string' && r.stdout.trim() !== '';
}

function logTail(lines = 40): string {
  try {
    return readFileSync(DOCKERD_LOG, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no dockerd log)';
  }
}

async function start(): Promise<void> {
  if (await dockerAnswers()) return;
  mkdirSync(DATA_ROOT, { recursive: true });
  mkdirSync(EXEC_ROOT, { recursive: true });
  const out = openSync(DOCKERD_LOG, 'a');
  const child = spawn(
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--bridge=none',
      '--data-root',
      DATA_ROOT,
      '--exec-root',
      EXEC_ROOT,
      '--pidfile',
      PID_FILE,
      '--host',
      SOCKET,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `dockerd exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
  });
  child.on('error', (err) => {
    exited = `dockerd could not start: ${err.message}`;
  });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await dockerAnswers()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${exited ?? 'dockerd did not answer `docker info` within 60 s'}; log ${DOCKERD_LOG} ends with:\n${logTail()}`,
  );
}

/** Idempotent: the first call starts dockerd when needed, later calls reuse the result (or retry after a failure). */
export function ensureDockerd(): Promise<void> {
  if (!ready) {
    ready = start().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
  }
  return ready;
}
