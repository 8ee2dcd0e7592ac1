import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../db/connect';
import { embeddedUrlFile } from '../../db/embedded';

describe('databaseUrl', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'fraisier-dburl-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('prefers DATABASE_URL', () => {
    expect(databaseUrl({ DATABASE_URL: ' postgres://u@db:5432/x ' }, cwd)).toBe('postgres://u@db:5432/x');
  });

  it('explains what to do when there is no database', () => {
    expect(() => databaseUrl({}, cwd)).toThrow(/npm start.*DATABASE_URL/s);
  });

  it('reads the URL the embedded server wrote next to its data directory', async () => {
    expect(embeddedUrlFile(path.join(cwd, '.data', 'pglite'))).toBe(path.join(cwd, '.data', 'pglite.url'));
    await mkdir(path.join(cwd, '.data'), { recursive: true });
    await writeFile(path.join(cwd, '.data', 'pglite.url'), 'postgres://postgres@127.0.0.1:5555/postgres\n');
    expect(databaseUrl({}, cwd)).toBe('postgres://postgres@127.0.0.1:5555/postgres');
    expect(databaseUrl({ DATABASE_URL: '' }, cwd)).toBe('postgres://postgres@127.0.0.1:5555/postgres');
  });

  it('follows FRAISIER_PGLITE_DIR', async () => {
    await mkdir(path.join(cwd, 'elsewhere'), { recursive: true });
    await writeFile(path.join(cwd, 'elsewhere', 'db.url'), 'postgres://postgres@127.0.0.1:6666/postgres');
    expect(databaseUrl({ FRAISIER_PGLITE_DIR: 'elsewhere/db' }, cwd)).toBe('postgres://postgres@127.0.0.1:6666/postgres');
  });
});
