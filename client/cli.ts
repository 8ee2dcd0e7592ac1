import { Command, Option } from 'commander';
import type { OperationOutcome } from '../domain/operations';
import { suggest } from '../domain/suggest';
import { EXIT } from './exitCodes';
import { reportError } from './errorReport';
import { runCleanup, runDeploy, runPower, runRollback, type StartResult } from './commands/operations';
import { runHistory, runLogs, runProviderInfo, runProviders, runProviderTest, runStatus } from './commands/reads';
import { runWebhooksServe } from './commands/webhooks';
import { runProjectList, runProjectOperation, runProjectShow, type ProjectCliOptions } from './commands/projects';
import type { ProjectOperation } from '../domain/projectOperations';

/** Everything a command prints goes through here: human text to stdout, progress to stderr, or JSON. */
export interface Output {
  json: boolean;
  info(line: string): void;
  progress(line: string): void;
  data(value: unknown): void;
}

function output(json: boolean): Output {
  return {
    json,
    info: (line) => {
      if (!json) process.stdout.write(`${line}\n`);
    },
    progress: (line) => process.stderr.write(`${line}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

const configOption = () => new Option('-c, --config <file>', 'the fraises.yaml to read').default('fraises.yaml');
const jsonOption = () => new Option('--json', 'print JSON instead of text');

/** The options of the commands that take the target's lock (deploy, rollback). */
function addLockOptions(command: Command, verb: string): Command {
  return command
    .option('--wait-lock', `if the target is busy, wait for the running operation to finish, then ${verb}`)
    .option('--wait-lock-timeout <duration>', 'how long --wait-lock may wait', '30m')
    .option('--ready-timeout <duration>', "how long to wait for the release to come up (default: the environment's ready_timeout, else its provider's)")
    .option('--requested-by <who>', 'recorded as who asked (default: user@host)')
    .option('--no-wait', 'start the workflow and return without waiting for its result')
    .addOption(configOption())
    .addOption(jsonOption());
}

async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('fraisier')
    .description('Deploy, roll back and clean up services ("fraises") through durable Temporal workflows.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 the operation failed, 2 bad input/config or Temporal unreachable, 3 the target is locked.
Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, FRAISIER_TASK_QUEUE,
FRAISIER_UI_URL, DATABASE_URL (else the embedded database that "npm start" runs).`,
  );

  const finishOperation = (out: Output, result: StartResult<OperationOutcome>) => {
    exitCode = result.exitCode;
    if (out.json) out.data(result);
  };

  const deployCommand = program
    .command('deploy')
    .description('deploy a version of a fraise to an environment')
    .argument('<fraise>')
    .argument('<environment>')
    .requiredOption('-v, --version <version>', 'the version to deploy (image tag, release name)')
    .option('--ttl <duration>', 'ephemeral deployment: cleanup removes it after this long (e.g. 24h)');
  addLockOptions(deployCommand, 'deploy').action(async (fraise: string, environment: string, opts: DeployCliOptions) => {
    const out = output(Boolean(opts.json));
    finishOperation(out, await runDeploy(out, fraise, environment, opts));
  });

  const rollbackCommand = program
    .command('rollback')
    .description('put the previous recorded release (or --to <version>) back, without rebuilding')
    .argument('<fraise>')
    .argument('<environment>')
    .option('--to <version>', 'a recorded version to go back to');
  addLockOptions(rollbackCommand, 'roll back').action(async (fraise: string, environment: string, opts: RollbackCliOptions) => {
    const out = output(Boolean(opts.json));
    finishOperation(out, await runRollback(out, fraise, environment, opts));
  });

  for (const action of ['stop', 'start'] as const) {
    const command = program
      .command(action)
      .description(
        action === 'stop'
          ? 'stop a target (its release stays recorded; `fraisier start` brings it back)'
          : 'start a stopped target again on its recorded release, and wait until it is up and healthy',
      )
      .argument('<fraise>')
      .argument('<environment>');
    addLockOptions(command, action).action(async (fraise: string, environment: string, opts: LockCliOptions) => {
      const out = output(Boolean(opts.json));
      finishOperation(out, await runPower(out, action, fraise, environment, opts));
    });
  }

  const projectCommand = program
    .command('project')
    .description('tenant projects: a stack each, from the compose template of the projects: section, with its own secrets and ports');
  const projectOperations: Array<[ProjectOperation, string]> = [
    ['provision', 'create the project (secrets and ports made once), start its stack, wait until healthy'],
    ['stop', 'stop the whole stack'],
    ['start', 'start the stopped stack again, wait until healthy'],
    ['delete', 'remove containers and network (volumes too with --purge); the record stays, marked deleted'],
    ['restore', 're-create a lost or broken stack from the stored template, ports and secrets; a healthy one is left as it is'],
  ];
  for (const [operation, description] of projectOperations) {
    const command = projectCommand
      .command(operation)
      .description(description)
      .argument('<id>', 'the project id: lowercase letters, digits and "-"')
      .option('--wait-lock', `if the project is busy, wait for the running operation to finish, then ${operation}`)
      .option('--wait-lock-timeout <duration>', 'how long --wait-lock may wait', '30m')
      .option('--requested-by <who>', 'recorded as who asked (default: user@host)')
      .option('--no-wait', 'start the workflow and return without waiting for its result')
      .addOption(configOption())
      .addOption(jsonOption());
    if (operation === 'delete') command.option('--purge', 'remove the volumes too: the project cannot be restored afterwards');
    command.action(async (id: string, opts: ProjectCliOptions) => {
      exitCode = await runProjectOperation(output(Boolean(opts.json)), operation, id, opts);
    });
  }
  for (const name of ['status', 'show']) {
    const command = projectCommand
      .command(name)
      .description(name === 'show' ? "a project's record; --reveal prints its secrets (needs the secrets key)" : "a project's record: status, URLs (passwords masked), ports")
      .argument('<id>')
      .addOption(configOption())
      .addOption(jsonOption());
    if (name === 'show') command.option('--reveal', 'print the secrets too (FRAISIER_SECRETS_KEY, or the key file of the data directory)');
    command.action(async (id: string, opts: { config: string; json?: boolean; reveal?: boolean }) => {
      exitCode = await runProjectShow(output(Boolean(opts.json)), id, opts);
    });
  }
  projectCommand
    .command('list')
    .description('the recorded projects (purged ones with --all)')
    .option('--all', 'purged projects too')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts: { config: string; json?: boolean; all?: boolean }) => {
      exitCode = await runProjectList(output(Boolean(opts.json)), opts);
    });

  program
    .command('status')
    .description('what runs on a target: its recorded release, any operation holding its lock, the live provider status')
    .argument('<fraise>')
    .argument('<environment>')
    .option('--no-live', 'skip asking the provider (records and lock only)')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (fraise: string, environment: string, opts: { config: string; json?: boolean; live: boolean }) => {
      exitCode = await runStatus(output(Boolean(opts.json)), fraise, environment, opts);
    });

  program
    .command('history')
    .description('recorded operations, newest first')
    .argument('[fraise]')
    .argument('[environment]')
    .option('-n, --limit <n>', 'how many', '20')
    .addOption(jsonOption())
    .action(async (fraise: string | undefined, environment: string | undefined, opts: { limit: string; json?: boolean }) => {
      exitCode = await runHistory(output(Boolean(opts.json)), fraise, environment, opts);
    });

  program
    .command('logs')
    .description("the service's recent logs, from the provider")
    .argument('<fraise>')
    .argument('<environment>')
    .option('-n, --tail <lines>', 'how many lines', '100')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (fraise: string, environment: string, opts: { tail: string; config: string; json?: boolean }) => {
      exitCode = await runLogs(output(Boolean(opts.json)), fraise, environment, opts);
    });

  program
    .command('cleanup')
    .description('stop and remove expired ephemeral deployments now (the hourly schedule does it too)')
    .option('--older-than <duration>', 'ephemeral deployments without a TTL expire this long after they started', '24h')
    .option('--dry-run', 'list what would be cleaned, change nothing')
    .addOption(jsonOption())
    .action(async (opts: { olderThan: string; dryRun?: boolean; json?: boolean }) => {
      exitCode = await runCleanup(output(Boolean(opts.json)), opts);
    });

  program
    .command('webhooks')
    .description("receive Coolify's deployment notifications (npm start runs this too)")
    .command('serve')
    .description('serve the receiver until Ctrl-C; prints the URL to give Coolify')
    .option('--host <host>', 'address to listen on', process.env.FRAISIER_WEBHOOK_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on', process.env.FRAISIER_WEBHOOK_PORT ?? '8766')
    .action(async (opts: { host: string; port: string }) => {
      exitCode = await runWebhooksServe(output(false), opts);
    });

  program
    .command('providers')
    .description('the providers fraisier knows, and where projects run (which backend "auto" picks, and why)')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean; config: string }) => {
      exitCode = await runProviders(output(Boolean(opts.json)), opts);
    });

  program
    .command('provider-info')
    .description("a provider's description and configuration keys")
    .argument('<provider>')
    .addOption(jsonOption())
    .action((name: string, opts: { json?: boolean }) => {
      exitCode = runProviderInfo(output(Boolean(opts.json)), name);
    });

  program
    .command('provider-test')
    .description("run a target's pre-flight checks (reachability, configuration) without changing anything")
    .argument('<fraise>')
    .argument('<environment>')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (fraise: string, environment: string, opts: { config: string; json?: boolean }) => {
      exitCode = await runProviderTest(output(Boolean(opts.json)), fraise, environment, opts);
    });

  // Before commander reads the line: `fraisier project provision --help` must not print the top-level help and
  // exit 0 as if "project" were fine; an unknown command is bad input (exit 2), with the nearest one suggested.
  const unknown = unknownCommand(program, argv);
  if (unknown) {
    process.stderr.write(`fraisier: ${unknown}\n`);
    return EXIT.badInput;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok;
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT.badInput;
    const report = reportError(err, argv.includes('--json'));
    if (report.json !== undefined) process.stdout.write(`${JSON.stringify(report.json, null, 2)}\n`);
    process.stderr.write(report.stderr);
    return report.exitCode;
  }
}

/** What is wrong with the command word of `argv`, or undefined when it names a command (or there is none). */
export function unknownCommand(program: Command, argv: readonly string[]): string | undefined {
  const word = argv[0];
  if (word === undefined || word.startsWith('-')) return undefined;
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (word === 'help' || known.includes(word)) return undefined;
  const guess = suggest(word, known);
  return `unknown command "${word}"${guess ? ` (did you mean "${guess}"?)` : ''}; commands: ${known.join(', ')}. Run fraisier --help for usage`;
}

export interface LockCliOptions {
  waitLock?: boolean;
  waitLockTimeout: string;
  readyTimeout?: string;
  requestedBy?: string;
  wait: boolean;
  config: string;
  json?: boolean;
}
export interface DeployCliOptions extends LockCliOptions {
  version: string;
  ttl?: string;
}
export interface RollbackCliOptions extends LockCliOptions {
  to?: string;
}

const code = await main(process.argv.slice(2));
// Exit once everything is written, not when Node runs out of work: the SDK retries a query the server refused
// (a lock holder's step, abandoned after its 250 ms budget) a second later, on a connection the CLI has closed,
// and that crash would replace the answer already given (exit 3 became 1 for most of 20 simultaneous refusals).
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
