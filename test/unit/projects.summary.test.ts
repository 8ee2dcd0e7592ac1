import { describe, expect, it } from 'vitest';
import { projectSummary, projectVariables, renderUrl } from '../../activities/projects/summary';
import type { ProjectRecord } from '../../db/types';

const record: ProjectRecord = {
  backend: 'local',
  id: 'acme',
  status: 'running',
  template: 'services: {}\n',
  ports: { API_PORT: 20000, DB_PORT: 20001 },
  secretsCiphertext: 'x',
  secretsKeyId: 'k1k1k1k1',
  apiUrlTemplate: 'http://127.0.0.1:${API_PORT}',
  dbUrlTemplate: 'postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/${PROJECT_ID}',
  providerRef: null,
  purged: false,
  error: null,
  createdAt: new Date('2030-01-01T00:00:00Z'),
  updatedAt: new Date('2030-01-01T00:01:00Z'),
};

describe('project summary', () => {
  it('renders the URLs and masks the database password', () => {
    const summary = projectSummary(record, { DB_PASSWORD: 'Xy7kPq9s' });
    expect(summary).toEqual({
      id: 'acme',
      backend: 'local',
      status: 'running',
      apiUrl: 'http://127.0.0.1:20000',
      dbUrl: 'postgres://app:***@127.0.0.1:20001/acme',
      ports: { API_PORT: 20000, DB_PORT: 20001 },
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:01:00.000Z',
      purged: false,
      error: null,
    });
    expect(JSON.stringify(summary)).not.toContain('Xy7kPq9s');
  });

  it('a purged project (its ports released) has no URLs', () => {
    expect(projectSummary({ ...record, purged: true, status: 'deleted', ports: {} }, { DB_PASSWORD: 'Xy7kPq9s' })).toMatchObject({ apiUrl: null, dbUrl: null, ports: {} });
  });

  it('without URL templates, no URLs', () => {
    expect(projectSummary({ ...record, apiUrlTemplate: null, dbUrlTemplate: null }, {})).toMatchObject({ apiUrl: null, dbUrl: null });
  });

  it('says which variable has no value, without the password', () => {
    const vars = projectVariables('acme', {}, { DB_PASSWORD: 'Xy7kPq9s' });
    expect(vars).toEqual({ PROJECT_ID: 'acme', DB_PASSWORD: 'Xy7kPq9s' });
    expect(() => renderUrl('postgres://app:${DB_PASSWORD}@h:${DB_PORT}/app', vars)).toThrow(
      'the URL template postgres://app:***@h:${DB_PORT}/app names ${DB_PORT}, which this project has no value for',
    );
  });
});
