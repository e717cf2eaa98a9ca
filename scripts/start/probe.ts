import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { LockFile } from '@mfs-ts/common';
import {
  CltomaCservList,
  CltomaMlogList,
  MATOCL_CSERV_LIST,
  MATOCL_MLOG_LIST,
  MatoclCservList,
  MatoclMlogList,
  PacketFramer,
  type MessageDef,
} from '@mfs-ts/protocol';
import { HOST, readDataPath, type DaemonFiles } from './layout.js';

/**
 * Asking the running cluster how it is, without registering (what mfscli does): the master's
 * chunkserver and metalogger lists on its client port, the kernel's mount table, the lock files.
 */

function ask<T>(port: number, request: Buffer, replyType: number, reply: MessageDef<T>, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: HOST, port });
    const framer = new PacketFramer(16 << 20);
    const done = (e: Error | undefined, v?: T): void => {
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(v as T);
    };
    const timer = setTimeout(() => done(new Error(`master on ${HOST}:${port} did not answer in ${timeoutMs} ms`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.once('connect', () => sock.write(request));
    sock.on('data', (chunk: Buffer) => {
      const err = framer.push(chunk, (type, payload) => {
        if (type !== replyType) return; // ANTOAN_NOP and the like
        const r = reply.decode(Buffer.from(payload));
        if (r.ok) done(undefined, r.value);
        else done(new Error(`bad ${reply.name} from the master: ${r.error.message}`));
      });
      if (err) done(err);
    });
    sock.once('end', () => done(new Error(`master on ${HOST}:${port} closed the connection`)));
  });
}

export interface CsInfo {
  ip: string;
  port: number;
  chunks: number;
  used: number;
  total: number;
  disconnected: boolean;
}

const ipStr = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

export async function chunkservers(clPort: number): Promise<CsInfo[]> {
  const v = await ask(clPort, CltomaCservList.encode({}), MATOCL_CSERV_LIST, MatoclCservList);
  return v.servers.map((s) => ({
    ip: ipStr(s.ip),
    port: s.port,
    chunks: s.chunks,
    used: Number(s.usedspace),
    total: Number(s.totalspace),
    disconnected: (s.flagsVersion >>> 24 & 1) === 1,
  }));
}

export async function metaloggers(clPort: number): Promise<string[]> {
  const v = await ask(clPort, CltomaMlogList.encode({}), MATOCL_MLOG_LIST, MatoclMlogList);
  return v.loggers.map((l) => ipStr(l.ip));
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount table entry for dir ("fuse.mfs mfs#127.0.0.1:9421"), or undefined. Never touches dir itself. */
export function mountEntry(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[1] !== undefined && unescapeMount(f[1]) === dir) return `${f[2]} ${unescapeMount(f[0]!)}`;
  }
  return undefined;
}

/** The pid of the running daemon of these files (its lock file), or 0. */
export function daemonPid(d: DaemonFiles): number {
  let dataPath = d.dataPath;
  try {
    dataPath = readDataPath(d);
  } catch {
    /* no cfg yet */
  }
  return new LockFile(dataPath, d.appName, [d.binName]).owner();
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 8): string {
  try {
    const t = readFileSync(file, 'utf8').trimEnd().split('\n');
    return t.slice(-lines).map((l) => `    ${l.length > 300 ? `${l.slice(0, 300)}...` : l}`).join('\n');
  } catch {
    return '    (no log)';
  }
}
