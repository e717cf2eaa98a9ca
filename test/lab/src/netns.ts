// Network namespaces, the bridge that joins them, subnet leases, and the sweep of what crashed runs
// left behind. Everything here shells out to iproute2 (`ip`), which is what CI has.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { isAlive, run } from './exec.js';

export const NETNS_DIR = '/run/netns';
/** Where subnet leases live: one file per taken /24, holding the owner's pid. */
const LEASE_DIR = '/run/mfsl/subnets';
/** Lab subnets are 10.A.B.0/24 with A in [LEASE_A0, LEASE_A0 + LEASE_AN). */
const LEASE_A0 = 200;
const LEASE_AN = 50;

/** Name prefix of everything a lab creates: `mfsl-<pid>-<n>`. */
export const LAB_PREFIX = 'mfsl-';
const LAB_ID = /^mfsl-(\d+)-(\d+)/;

export interface SubnetLease {
  /** e.g. "10.201.7" (no trailing dot). */
  readonly prefix: string;
  readonly cidr: string;
  release(): void;
}

/**
 * Takes a /24 no other live lab holds. A lease is a file created with O_EXCL, so two labs starting
 * at the same time cannot both take one; leases of dead pids are taken over.
 */
export function leaseSubnet(seed: number): SubnetLease {
  mkdirSync(LEASE_DIR, { recursive: true });
  const total = LEASE_AN * 256;
  for (let k = 0; k < total; k++) {
    const i = (seed + k) % total;
    const prefix = `10.${LEASE_A0 + (i >> 8)}.${i & 255}`;
    const file = join(LEASE_DIR, prefix);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return {
          prefix,
          cidr: `${prefix}.0/24`,
          release: () => rmSync(file, { force: true }),
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let owner = 0;
        try {
          owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
        } catch {
          // vanished meanwhile: retry
        }
        if (owner > 0 && isAlive(owner)) break;
        rmSync(file, { force: true });
      }
    }
  }
  throw new LabError('MFSL_NO_SUBNET', `all ${total} lab subnets under ${LEASE_DIR} are taken by live processes`);
}

export async function ip(args: string[]): Promise<void> {
  await run(['ip', ...args], { timeoutMs: 15_000 });
}

export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/**
 * Pids of processes whose network namespace is `ns`. Reads /proc directly (the netns file's inode
 * against each process's ns/net link) instead of `ip netns pids`, which forks and was seen to take
 * over 10 s on a loaded 2-core machine.
 */
export async function netnsPids(ns: string): Promise<number[]> {
  let ino: number;
  try {
    ino = statSync(join(NETNS_DIR, ns)).ino;
  } catch {
    return [];
  }
  const want = `net:[${ino}]`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === want) out.push(pid);
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return out;
}

/** Mount points (from /proc/self/mounts) at or below `dir`. Deepest first, ready to unmount. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mounts', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[1];
    if (mp === undefined) continue;
    // /proc/mounts escapes spaces etc. as \040; our paths never contain them.
    if (mp === dir || mp.startsWith(`${dir}/`)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * Removes what labs of dead processes left on this machine: their mounts (lazily), every process still
 * in their namespaces, the namespaces themselves, subnet leases and working directories under `root`.
 * Labs of live processes (other test runs going on right now) are left alone.
 */
export async function sweepStale(root: string): Promise<string[]> {
  const removed: string[] = [];
  const dead = (name: string): boolean => {
    const m = LAB_ID.exec(name);
    if (!m) return false;
    const pid = Number(m[1]);
    return pid !== process.pid && !isAlive(pid);
  };
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root).filter(dead);
  } catch {
    // no root yet
  }
  for (const d of dirs) {
    for (const mp of mountsUnder(join(root, d))) {
      await run(['umount', '-l', mp], { allowFail: true });
      removed.push(`mount ${mp}`);
    }
  }
  for (const ns of listNetns().filter(dead)) {
    for (const pid of await netnsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
        removed.push(`pid ${pid} (in ${ns})`);
      } catch {
        // gone
      }
    }
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
    removed.push(`netns ${ns}`);
  }
  for (const d of dirs) {
    rmSync(join(root, d), { recursive: true, force: true });
    removed.push(`dir ${join(root, d)}`);
  }
  try {
    for (const f of readdirSync(LEASE_DIR)) {
      const file = join(LEASE_DIR, f);
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (!(owner > 0 && isAlive(owner))) rmSync(file, { force: true });
    }
  } catch {
    // no leases yet
  }
  return removed;
}
