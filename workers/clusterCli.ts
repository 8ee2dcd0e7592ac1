/** `npm run cluster [start|stop|status]`: the command line of workers/cluster.ts. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterStatus, DEFAULT_FRONTEND_PORT, DEFAULT_PG_PORT, HOST, NUM_HISTORY_SHARDS, SERVICES, startCluster, stopCluster } from './cluster';


const USAGE = `Usage: npm run cluster -- [start|stop|status] [--help]

A production-shaped Temporal server on this machine: PostgreSQL and the four Temporal services (frontend,
history, matching, worker) as separate processes, ${NUM_HISTORY_SHARDS} history shards, SQL visibility, the namespace and
fraisier's search attributes registered. It keeps running after this command exits.

  start    start what is not running (the default); prints the address for TEMPORAL_ADDRESS
  stop     stop the four services, then PostgreSQL
  status   what runs, and where (exit 0: all running, 3: not all)

Environment:
  FRAISIER_DATA_DIR         fraisier's data dir (default .data/); the cluster lives in its cluster/ folder
  FRAISIER_CLUSTER_PORT     frontend gRPC port (default ${DEFAULT_FRONTEND_PORT}); the cluster also uses the ports from
                            300 below it to 10 above it (history +1, matching +2, worker +6, HTTP +10, membership -300..-294)
  FRAISIER_CLUSTER_PG_PORT  PostgreSQL port (default ${DEFAULT_PG_PORT})
  TEMPORAL_NAMESPACE        namespace to register (default "default")
  TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_SCHEMA_DIR
                            the binaries and schemas (default: what npm run setup put in .tools/)

Then: TEMPORAL_ADDRESS=127.0.0.1:<port> npm run worker (or npm start)`;

function say(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`);
}

async function cli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command = 'start', ...rest] = parsed.positionals;
  if (rest.length > 0 || !['start', 'stop', 'status'].includes(command)) {
    process.stderr.write(`unknown arguments: ${parsed.positionals.join(' ')}\n\n${USAGE}\n`);
    return 2;
  }
  if (command === 'start') {
    const cluster = await startCluster({ log: say });
    say(`ready in ${(cluster.startedInMs / 1000).toFixed(1)} s: Temporal at ${cluster.address}, namespace ${cluster.namespace}, PostgreSQL at ${HOST}:${cluster.ports.postgres}`);
    say(`logs in ${cluster.paths.logs}; npm run cluster -- stop stops it`);
    say(`point fraisier at it: TEMPORAL_ADDRESS=${cluster.address} npm run worker`);
    return 0;
  }
  if (command === 'stop') {
    await stopCluster({ log: say });
    say('stopped');
    return 0;
  }
  const s = await clusterStatus();
  say(`cluster dir ${s.paths.root}`);
  say(`PostgreSQL: ${s.postgres ? `running${s.ports ? ` on ${HOST}:${s.ports.postgres}` : ''}` : 'stopped'}`);
  for (const svc of SERVICES) say(`${svc}: ${s.services[svc] !== null ? `running (pid ${s.services[svc]})` : 'stopped'}`);
  const all = s.postgres && SERVICES.every((svc) => s.services[svc] !== null);
  say(all ? `Temporal at ${s.address} (TEMPORAL_ADDRESS=${s.address})` : 'not all running: npm run cluster -- start');
  return all ? 0 : 3;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`[cluster] failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

