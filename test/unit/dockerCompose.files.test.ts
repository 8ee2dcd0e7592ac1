import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderInputError } from '../../activities/providers/contract';
import { parseComposeFile, setServiceImage } from '../../activities/providers/docker_compose/composeFile';
import {
  extractVariable,
  imageTag,
  imageVariables,
  interpolate,
  parseImageTemplate,
  replaceImageTag,
  tagVariables,
} from '../../activities/providers/docker_compose/interpolation';
import { parseEnvFile, readEnvVariable, setEnvVariable } from '../../activities/dotenv';
import { BACKUPS_KEPT, backupDirFor, listBackups, replaceFile, writeFileAtomic } from '../../activities/providers/docker_compose/files';
import { versionMode } from '../../activities/providers/docker_compose/versionFile';

const lookup = (vars: Record<string, string>) => (name: string) => vars[name];

describe('image templates', () => {
  it('finds variables in every compose syntax', () => {
    expect(imageVariables(parseImageTemplate('app:${VERSION}'))).toEqual(['VERSION']);
    expect(imageVariables(parseImageTemplate('app:$VERSION'))).toEqual(['VERSION']);
    expect(imageVariables(parseImageTemplate('app:${VERSION:-latest}'))).toEqual(['VERSION']);
    expect(imageVariables(parseImageTemplate('${REGISTRY:-${DEFAULT_REG}}/app:${TAG?set it}'))).toEqual(['REGISTRY', 'DEFAULT_REG', 'TAG']);
    expect(imageVariables(parseImageTemplate('app:$$VERSION'))).toEqual([]);
    expect(imageVariables(parseImageTemplate('app:1.0'))).toEqual([]);
  });

  it('tells tag variables from name variables', () => {
    expect(tagVariables(parseImageTemplate('${REGISTRY}/app:${VERSION}'))).toEqual(['VERSION']);
    expect(tagVariables(parseImageTemplate('${REGISTRY:-localhost:5000}/app:1.0'))).toEqual([]);
    expect(tagVariables(parseImageTemplate('localhost:5000/app'))).toEqual([]);
    expect(tagVariables(parseImageTemplate('${IMAGE}'))).toEqual([]);
    expect(tagVariables(parseImageTemplate('app:${V}-${FLAVOUR}'))).toEqual(['V', 'FLAVOUR']);
  });

  it('rejects malformed references', () => {
    expect(() => parseImageTemplate('app:${VERSION')).toThrow(ProviderInputError);
    expect(() => parseImageTemplate('app:${1X}')).toThrow(ProviderInputError);
    expect(() => parseImageTemplate('app:${X!y}')).toThrow(ProviderInputError);
  });

  it('interpolates like compose', () => {
    const t = (s: string, vars: Record<string, string>) => interpolate(parseImageTemplate(s), lookup(vars));
    expect(t('app:${VERSION}', { VERSION: 'v1' })).toBe('app:v1');
    expect(t('app:$VERSION', { VERSION: 'v1' })).toBe('app:v1');
    expect(t('app:${VERSION:-latest}', {})).toBe('app:latest');
    expect(t('app:${VERSION:-latest}', { VERSION: '' })).toBe('app:latest');
    expect(t('app:${VERSION-latest}', { VERSION: '' })).toBe('app:');
    expect(t('app:${VERSION:+set}', { VERSION: 'x' })).toBe('app:set');
    expect(t('${R:-${D}}/app:1', { D: 'reg' })).toBe('reg/app:1');
    expect(t('a$$b', {})).toBe('a$b');
    expect(() => t('app:${VERSION:?needed}', {})).toThrow(/VERSION.*needed/);
  });

  it('extracts the version from a running image reference', () => {
    const segs = parseImageTemplate('${REGISTRY}/app:${VERSION}-alpine');
    expect(extractVariable(segs, 'VERSION', 'reg.local/app:1.2.3-alpine', lookup({ REGISTRY: 'reg.local' }))).toBe('1.2.3');
    expect(extractVariable(segs, 'VERSION', 'other/app:1.2.3-alpine', lookup({ REGISTRY: 'reg.local' }))).toBeUndefined();
    expect(extractVariable(parseImageTemplate('app:${VERSION:-x}'), 'VERSION', 'app:v9', lookup({}))).toBe('v9');
    expect(extractVariable(parseImageTemplate('app:1'), 'VERSION', 'app:1', lookup({}))).toBeUndefined();
  });

  it('reads and replaces tags', () => {
    expect(imageTag('app')).toBe('latest');
    expect(imageTag('localhost:5000/app')).toBe('latest');
    expect(imageTag('localhost:5000/app:v1')).toBe('v1');
    expect(imageTag(`app@sha256:${'0'.repeat(64)}`)).toBeUndefined();
    expect(replaceImageTag('app:1.0', 'v2')).toBe('app:v2');
    expect(replaceImageTag('app', 'v2')).toBe('app:v2');
    expect(replaceImageTag('localhost:5000/team/app', 'v2')).toBe('localhost:5000/team/app:v2');
    expect(replaceImageTag('${REGISTRY:-localhost:5000}/app:1.0', 'v2')).toBe('${REGISTRY:-localhost:5000}/app:v2');
    expect(replaceImageTag(`app:1.0@sha256:${'0'.repeat(64)}`, 'v2')).toBe('app:v2');
    expect(() => replaceImageTag('${IMAGE}', 'v2')).toThrow(/ends with a variable/);
    expect(() => replaceImageTag('app:${A}-x', 'v2')).toThrow(/version_variable/);
  });
});

const COMPOSE = `# Production stack — keep this comment
x-common: &common
  restart: unless-stopped

services:
  db:
    image: postgres:16   # pinned
    <<: *common
  web:
    <<: *common
    image: shop/web:1.0 # deployed by fraisier
    ports:
      - "8080:8080"
    environment:
      GREETING: "hello: world"   # quoted on purpose
  worker:
    build: ./worker
`;

describe('compose file', () => {
  it('validates the service and its image, naming the file and what to do', () => {
    expect(parseComposeFile(COMPOSE, '/x/docker-compose.yml', 'web').image).toBe('shop/web:1.0');
    expect(() => parseComposeFile(COMPOSE, '/x/docker-compose.yml', 'api')).toThrow(
      /\/x\/docker-compose\.yml has no service "api" \(services: db, web, worker\); set service_name/,
    );
    expect(() => parseComposeFile(COMPOSE, '/x/docker-compose.yml', 'worker')).toThrow(/service "worker" in \/x\/docker-compose\.yml has no "image:"/);
    expect(() => parseComposeFile('services: [a', '/x/c.yml', 'web')).toThrow(/\/x\/c\.yml is not valid YAML/);
    expect(() => parseComposeFile('version: "3"\n', '/x/c.yml', 'web')).toThrow(/no "services:"/);
    expect(() => parseComposeFile('services:\n  web:\n    image: 3\n', '/x/c.yml', 'web')).toThrow(ProviderInputError);
  });

  it('rewrites only the image of the service, byte for byte elsewhere', () => {
    const out = setServiceImage(COMPOSE, '/x/docker-compose.yml', 'web', 'shop/web:v2');
    expect(out).toBe(COMPOSE.replace('image: shop/web:1.0 #', 'image: shop/web:v2 #'));
  });

  it('keeps the quoting style of the image', () => {
    const dq = 'services:\n  web:\n    image: "app:1"\n';
    expect(setServiceImage(dq, '/c.yml', 'web', 'app:2')).toBe('services:\n  web:\n    image: "app:2"\n');
    const sq = "services:\n  web:\n    image: 'app:1'\n";
    expect(setServiceImage(sq, '/c.yml', 'web', 'app:2')).toBe("services:\n  web:\n    image: 'app:2'\n");
    const flow = 'services: {web: {image: app:1, ports: ["80:80"]}}\n';
    expect(setServiceImage(flow, '/c.yml', 'web', 'app:2')).toBe('services: {web: {image: app:2, ports: ["80:80"]}}\n');
    const crlf = 'services:\r\n  web:\r\n    image: app:1\r\n    restart: always\r\n';
    expect(setServiceImage(crlf, '/c.yml', 'web', 'app:2')).toBe(crlf.replace('app:1', 'app:2'));
  });

  it('refuses images it cannot rewrite in place', () => {
    const merged = 'x: &base\n  image: app:1\nservices:\n  web:\n    <<: *base\n';
    expect(parseComposeFile(merged, '/c.yml', 'web').image).toBe('app:1');
    expect(() => setServiceImage(merged, '/c.yml', 'web', 'app:2')).toThrow(/anchor or merge key/);
    const block = 'services:\n  web:\n    image: >-\n      app:1\n';
    expect(() => setServiceImage(block, '/c.yml', 'web', 'app:2')).toThrow(/block scalar/);
  });

  it('chooses how the version is set', () => {
    const info = (image: string) => parseComposeFile(`services:\n  web:\n    image: "${image}"\n`, '/c.yml', 'web');
    const cfg = { service_name: 'web' };
    expect(versionMode(info('app:${VERSION}'), cfg, '/c.yml')).toEqual({ kind: 'variable', name: 'VERSION' });
    expect(versionMode(info('app:${TAG:-latest}'), cfg, '/c.yml')).toEqual({ kind: 'variable', name: 'TAG' });
    expect(versionMode(info('${REG}/app:1.0'), cfg, '/c.yml')).toEqual({ kind: 'tag' });
    expect(versionMode(info('app:1.0'), cfg, '/c.yml')).toEqual({ kind: 'tag' });
    expect(versionMode(info('${REG}/app:${V}'), { ...cfg, version_variable: 'V' }, '/c.yml')).toEqual({ kind: 'variable', name: 'V' });
    expect(() => versionMode(info('app:1.0'), { ...cfg, version_variable: 'VERSION' }, '/c.yml')).toThrow(/does not use it/);
    expect(() => versionMode(info('app:${A}-${B}'), cfg, '/c.yml')).toThrow(/set version_variable/);
  });
});

describe('env file', () => {
  const ENV = '# app settings\nexport VERSION=v1\nOTHER="a b" # kept\n\nEMPTY=\nVERSION=v1b\n';

  it('reads the last assignment, without quotes or comments', () => {
    expect(readEnvVariable(ENV, 'VERSION')).toBe('v1b');
    expect(readEnvVariable(ENV, 'OTHER')).toBe('a b');
    expect(readEnvVariable(ENV, 'EMPTY')).toBe('');
    expect(readEnvVariable(ENV, 'NONE')).toBeUndefined();
    expect(readEnvVariable('V=x # note\n', 'V')).toBe('x');
    expect(parseEnvFile(ENV)).toEqual({ VERSION: 'v1b', OTHER: 'a b', EMPTY: '' });
  });

  it('rewrites every assignment of the variable and nothing else', () => {
    expect(setEnvVariable(ENV, 'VERSION', 'v2')).toBe('# app settings\nexport VERSION=v2\nOTHER="a b" # kept\n\nEMPTY=\nVERSION=v2\n');
  });

  it('appends when the variable is missing, and handles empty files, CRLF and a missing final newline', () => {
    expect(setEnvVariable('A=1\n', 'VERSION', 'v2')).toBe('A=1\nVERSION=v2\n');
    expect(setEnvVariable('A=1', 'VERSION', 'v2')).toBe('A=1\nVERSION=v2\n');
    expect(setEnvVariable('', 'VERSION', 'v2')).toBe('VERSION=v2\n');
    expect(setEnvVariable('A=1\r\nVERSION=v1\r\n', 'VERSION', 'v2')).toBe('A=1\r\nVERSION=v2\r\n');
    expect(setEnvVariable('MY_VERSION=1\nVERSION_X=2\n', 'VERSION', 'v2')).toBe('MY_VERSION=1\nVERSION_X=2\nVERSION=v2\n');
  });
});

describe('backups and atomic writes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-files-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('backs the file up before replacing it, keeping its mode', async () => {
    const file = path.join(dir, '.env');
    await fs.writeFile(file, 'VERSION=v1\n', { mode: 0o600 });
    const backup = await replaceFile(file, 'VERSION=v2\n');
    expect(backup).toBeDefined();
    expect(path.dirname(backup ?? '')).toBe(backupDirFor(file));
    expect(await fs.readFile(backup ?? '', 'utf8')).toBe('VERSION=v1\n');
    expect(await fs.readFile(file, 'utf8')).toBe('VERSION=v2\n');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    // No temp file left behind.
    expect((await fs.readdir(dir)).sort()).toEqual(['.env', '.fraisier']);
  });

  it('creates a missing file without a backup', async () => {
    const file = path.join(dir, 'new.env');
    expect(await replaceFile(file, 'A=1\n')).toBeUndefined();
    expect(await fs.readFile(file, 'utf8')).toBe('A=1\n');
  });

  it(`keeps the last ${BACKUPS_KEPT} backups, oldest dropped first`, async () => {
    const file = path.join(dir, 'compose.yml');
    await writeFileAtomic(file, 'v0');
    for (let i = 1; i <= BACKUPS_KEPT + 3; i++) await replaceFile(file, `v${i}`);
    const kept = await listBackups(file);
    expect(kept).toHaveLength(BACKUPS_KEPT);
    const contents = await Promise.all(kept.map((k) => fs.readFile(k, 'utf8')));
    expect(contents).toEqual(['v3', 'v4', 'v5', 'v6', 'v7']);
    expect(await fs.readFile(file, 'utf8')).toBe(`v${BACKUPS_KEPT + 3}`);
  });

  it('backups of different files do not prune each other', async () => {
    const a = path.join(dir, 'a.yml');
    const b = path.join(dir, 'a.yml.extra');
    await writeFileAtomic(a, 'a');
    await writeFileAtomic(b, 'b');
    await replaceFile(a, 'a2');
    await replaceFile(b, 'b2');
    expect(await listBackups(a)).toHaveLength(1);
    expect(await listBackups(b)).toHaveLength(1);
  });
});
