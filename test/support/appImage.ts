/**
 * Builds tiny test images locally (never pulled): FROM scratch + the host's static busybox running httpd.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export interface AppImageOptions {
  /** Adds a HEALTHCHECK that fetches `healthPath` with busybox wget. */
  healthcheck?: boolean;
  /** Content of /www/index.html, so tests can tell versions apart. */
  body?: string;
  /** Port httpd listens on (containers use host networking). */
  port?: number;
  /** Path the HEALTHCHECK fetches; a path that is not served makes the container unhealthy. Default "/". */
  healthPath?: string;
}

export const BUSYBOX = '/bin/busybox';

/** The Dockerfile of an app image (exported for the examples and for tests that want to read it). */
export function appDockerfile(port: number, healthcheck: boolean, healthPath = '/'): string {
  const lines = [
    'FROM scratch',
    'COPY busybox /busybox',
    'COPY www /www',
    `EXPOSE ${port}`,
    // httpd runs as PID 1 and ignores SIGTERM; it holds no state, so stop it at once instead of after 10 s.
    'STOPSIGNAL SIGKILL',
    `ENTRYPOINT ["/busybox", "httpd", "-f", "-v", "-p", "${port}", "-h", "/www"]`,
  ];
  if (healthcheck) {
    lines.push(
      `HEALTHCHECK --interval=1s --timeout=3s --retries=3 CMD ["/busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:${port}${healthPath}"]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Builds `tag` and returns its image id. */
export async function buildAppImage(tag: string, opts: AppImageOptions = {}): Promise<string> {
  const port = opts.port ?? 8080;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-app-image-'));
  try {
    await fs.mkdir(path.join(dir, 'www'));
    await fs.copyFile(BUSYBOX, path.join(dir, 'busybox'));
    await fs.chmod(path.join(dir, 'busybox'), 0o755);
    await fs.writeFile(path.join(dir, 'www', 'index.html'), opts.body ?? `${tag}\n`);
    await fs.writeFile(path.join(dir, 'Dockerfile'), appDockerfile(port, opts.healthcheck ?? false, opts.healthPath));
    const r = await execa('docker', ['build', '-q', '-t', tag, dir], {
      reject: false,
      timeout: 180_000,
      env: { DOCKER_BUILDKIT: '0' },
    });
    if (r.exitCode !== 0) throw new Error(`docker build of ${tag} failed: ${r.stderr || r.stdout}`);
    const id = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', tag]);
    return id.stdout.trim();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Removes images, ignoring those already gone. */
export async function removeImages(refs: readonly string[]): Promise<void> {
  if (refs.length === 0) return;
  await execa('docker', ['image', 'rm', '-f', ...refs], { reject: false, timeout: 120_000 });
}

/**
 * An image of the host's static busybox and nothing else (FROM scratch), entrypoint /busybox: its command (from a
 * compose file) picks the applet, e.g. ["httpd", "-f", "-p", "8080", "-h", "/www"]. /www holds an index.html.
 */
export async function buildBusyboxImage(tag: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-busybox-image-'));
  try {
    await fs.mkdir(path.join(dir, 'www'));
    await fs.copyFile(BUSYBOX, path.join(dir, 'busybox'));
    await fs.chmod(path.join(dir, 'busybox'), 0o755);
    await fs.writeFile(path.join(dir, 'www', 'index.html'), `${tag}\n`);
    await fs.writeFile(path.join(dir, 'Dockerfile'), ['FROM scratch', 'COPY busybox /busybox', 'COPY www /www', 'STOPSIGNAL SIGKILL', 'ENTRYPOINT ["/busybox"]', ''].join('\n'));
    const r = await execa('docker', ['build', '-q', '-t', tag, dir], { reject: false, timeout: 180_000, env: { DOCKER_BUILDKIT: '0' } });
    if (r.exitCode !== 0) throw new Error(`docker build of ${tag} failed: ${r.stderr || r.stdout}`);
    return (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
