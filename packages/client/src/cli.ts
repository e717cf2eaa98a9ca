import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createLogger, type Logger } from '@mfs-ts/common';
import { passwordDigest, VERSSTR } from './proto.js';
import { MfsCore } from './core.js';
import { fuseOptionList, isMounted, MfsMount } from './mount.js';
import { OptionError, parseMountArgs, type ClientOptions, type MountArgs } from './options.js';

/**
 * mfsmount-ts MOUNTPOINT [-H host] [-P port] [-S subfolder] [-p] [-f] [-o opt,...]
 *
 * Like mfsmount: registers with the master first (so a bad password or an unreachable master is an
 * error on the terminal and a non-zero exit), then mounts; without -f it goes to the background and
 * returns once the mount point is usable. umount / SIGTERM flush the write-back data, close the
 * session and end the process.
 */

const USAGE = `usage: mfsmount-ts MOUNTPOINT [-H HOST] [-P PORT] [-S PATH] [-p] [-f] [-o OPT[,OPT...]]

  -H HOST   equivalent to '-o mfsmaster=HOST'
  -P PORT   equivalent to '-o mfsport=PORT'
  -S PATH   equivalent to '-o mfssubfolder=PATH'
  -p        ask for the password (like '-o mfspassword=PASS')
  -f        stay in the foreground
  -o mfsmaster=HOST, mfsport=PORT, mfssubfolder=PATH, mfspassword=PASS, mfsmd5pass=MD5,
     mfscachemode=AUTO|YES|NO|DIRECT, mfsioretries=N, mfsattrcacheto=SEC, mfsentrycacheto=SEC,
     mfsdirentrycacheto=SEC, mfswritecachesize=MiB, mfsreadaheadsize=MiB, mfstimeout=SEC, ro, rw,
     and any libfuse option (passed through to the mount)
`;

/** Set in the background child: the parent waits on this IPC channel for "ready" or an error. */
const CHILD_ENV = 'MFSMOUNT_TS_DAEMON_CHILD';

async function askPassword(): Promise<string> {
  process.stderr.write('MFS Password:');
  const rl = createInterface({ input: process.stdin, terminal: false });
  const line = await new Promise<string>((r) => rl.once('line', r));
  rl.close();
  process.stderr.write('\n');
  return line;
}

function report(msg: string): void {
  if (process.env[CHILD_ENV] && process.send) process.send({ error: msg });
  process.stderr.write(`${msg}\n`);
}

async function runForeground(a: MountArgs, log: Logger): Promise<number> {
  let options: ClientOptions = a.options;
  if (a.askPassword) options = Object.freeze({ ...options, passwordDigest: passwordDigest(await askPassword()) });
  let mountpoint: string;
  try {
    mountpoint = realpathSync(a.mountpoint);
    if (!statSync(mountpoint).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    report(`${a.mountpoint}: can't use as mount point: ${(e as Error).message}`);
    return 1;
  }
  if (isMounted(mountpoint)) {
    report(`${mountpoint}: already mounted`);
    return 1;
  }
  let core: MfsCore;
  try {
    core = await MfsCore.connect(Object.freeze({ ...options, info: mountpoint }), log);
  } catch (e) {
    report((e as Error).message);
    return 1;
  }
  const m = new MfsMount(core, mountpoint, fuseOptionList(options, a.fuseOptions), log);
  try {
    await m.start();
  } catch (e) {
    report(`fuse mount failed: ${(e as Error).message}`);
    await core.close().catch(() => undefined);
    return 1;
  }
  const end = () => void m.stop(true);
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  process.on('SIGHUP', () => undefined);
  if (process.env[CHILD_ENV] && process.send) {
    process.send({ ready: true });
    process.disconnect?.();
  }
  await m.done;
  log.info({ mountpoint }, 'session closed, exiting');
  return 0;
}

/** Re-runs this command in the background with -f and waits until it reports the mount usable. */
function daemonize(argv: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv, '-f'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    let settled = false;
    child.on('message', (msg: { ready?: boolean; error?: string }) => {
      if (settled) return;
      if (msg.ready) {
        settled = true;
        child.unref();
        child.disconnect();
        resolve(0);
      } else if (msg.error) {
        process.stderr.write(`${msg.error}\n`);
      }
    });
    child.on('exit', (code) => {
      if (settled) return;
      settled = true;
      resolve(code === 0 ? 1 : (code ?? 1));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  let a: MountArgs;
  try {
    a = parseMountArgs(argv);
  } catch (e) {
    if (e instanceof OptionError) {
      process.stderr.write(`mfsmount-ts: ${e.message}\n${USAGE}`);
      return 1;
    }
    throw e;
  }
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (a.version) {
    process.stdout.write(`MFS version ${VERSSTR} (mfs-ts)\n`);
    return 0;
  }
  if (!a.foreground) {
    if (a.askPassword) {
      // Ask here, hand the digest to the child on its command line in hex form (as mfsmd5pass).
      const d = passwordDigest(await askPassword()).toString('hex');
      return daemonize([...argv.filter((x) => x !== '-p' && x !== '--password'), '-o', `mfsmd5pass=${d}`]);
    }
    return daemonize(argv);
  }
  const log = createLogger({ role: 'mfsmount', file: process.env.MFSMOUNT_TS_LOG });
  return runForeground(a, log);
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Nothing else should keep us alive once the mount is over (fuse-native keeps a libuv handle).
setTimeout(() => process.exit(code), 100).unref();
