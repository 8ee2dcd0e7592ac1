/** What the phases share: the options, the files, the Temporal client, the databases. */
import type { Client } from '@temporalio/client';
import type { Records } from '../../db/types';
import type { DbKind, Options } from './options';

export interface Env {
  opts: Options;
  dir: string;
  image: string;
  project: string;
  taskQueue: string;
  configFile: string;
  client: Client;
  temporalAddress: string;
  temporalNamespace: string;
  /** The dev server's process, to read its CPU time; undefined for a server the bench did not start. */
  temporalServerPid: number | undefined;
  /** The records the worker writes to (seeded by the cleanup phase). */
  workerRecords: Records;
  dbUrls: Map<DbKind, string>;
}
