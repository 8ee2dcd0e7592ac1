import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from '../../db/embedded';
import { startPostgresCluster } from './postgres';

export interface DatabaseServer {
  url: string;
  stop(): Promise<void>;
}

/** The two databases the records run on, each started fresh: a throwaway PostgreSQL, and PGlite behind its socket server. */
export const databaseBackends: Array<{ name: string; start(): Promise<DatabaseServer> }> = [
  { name: 'PostgreSQL', start: startPostgresCluster },
  {
    name: 'PGlite over the socket',
    async start() {
      const dir = await mkdtemp(path.join(tmpdir(), 'fraisier-pglite-'));
      const embedded = await startEmbeddedDatabase({ dataDir: path.join(dir, 'pglite') });
      return {
        url: embedded.url,
        async stop() {
          await embedded.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
];
