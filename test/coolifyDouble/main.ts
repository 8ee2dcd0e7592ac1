/**
 * `npm run coolify-double -- [--port 8765] [--token T] [--speed 1]`: the Coolify double by hand, e.g. to try
 * fraisier's Coolify client against it. Seed applications with POST /_double/applications {"name": "web"}; set
 * faults with PATCH /_double/faults; read GET /_double/log and GET /_double/violations.
 */
import { parseArgs } from 'node:util';
import { loadContract } from './contract';
import { startCoolifyDouble } from './server';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8765' }, token: { type: 'string', default: 'double-token' }, speed: { type: 'string', default: '1' } },
  strict: true,
});
const double = await startCoolifyDouble({
  contract: await loadContract(),
  tokens: { [values.token]: ['read', 'write', 'deploy', 'read:sensitive'] },
  speed: Number(values.speed),
}, '127.0.0.1', Number(values.port));
process.stdout.write(`Coolify double on ${double.url}/api/v1 (token ${values.token}); control under ${double.url}/_double/. Ctrl-C stops it.\n`);
process.on('SIGINT', () => void double.close().then(() => process.exit(0)));
