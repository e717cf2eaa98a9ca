// mfsfailover-ts: the keepalived failover kit's command.
//   generate --cluster FILE [--host NAME]     write each host's kit (keepalived.conf, check.sh, notify.sh, run.sh)
//   start    --cluster FILE --host NAME [--bootstrap]   boot path (before keepalived)
//   watch    --cluster FILE --host NAME       health watcher (writes the track file keepalived reads)
//   check    --cluster FILE --host NAME       one probe of this host's master: exit 0 if it answers
//   notify   master|backup|fault|stop --cluster FILE --host NAME   (keepalived's notify scripts)
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostOf, loadCluster } from './cluster.js';
import { FailoverError } from './errors.js';
import { writeKit } from './generate.js';
import { FailoverNode } from './node.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const USAGE = `usage: mfsfailover-ts generate|start|watch|check|notify [master|backup|fault|stop] --cluster FILE [--host NAME] [--bootstrap]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cluster: { type: 'string', short: 'c' }, host: { type: 'string', short: 'H' }, bootstrap: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [cmd, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (!values.cluster) throw new FailoverError('FO_USAGE', '--cluster FILE is required');
  const cluster = loadCluster(values.cluster, REPO_ROOT);
  if (cmd === 'generate') {
    for (const f of writeKit(cluster, values.host)) process.stdout.write(`${f}\n`);
    return 0;
  }
  if (!values.host) throw new FailoverError('FO_USAGE', '--host NAME is required');
  const node = new FailoverNode(cluster, hostOf(cluster, values.host));
  switch (cmd) {
    case 'start':
      await node.start(values.bootstrap === true);
      return 0;
    case 'watch': {
      const ac = new AbortController();
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => ac.abort());
      await node.watch(ac.signal);
      return 0;
    }
    case 'check': {
      const p = await node.probe();
      process.stdout.write(p.ok ? `ok ${p.ms} ms metaversion ${p.metaversion}\n` : `fail ${p.reason}: ${p.detail}\n`);
      return p.ok ? 0 : 1;
    }
    case 'notify':
      if (arg !== 'master' && arg !== 'backup' && arg !== 'fault' && arg !== 'stop') throw new FailoverError('FO_USAGE', `notify needs master|backup|fault|stop, not ${arg}`);
      await node.notify(arg);
      return 0;
    default:
      throw new FailoverError('FO_USAGE', `unknown command ${cmd}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`mfsfailover-ts: ${FailoverError.is(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
  process.exitCode = FailoverError.is(e) && e.code === 'FO_USAGE' ? 2 : 1;
}
