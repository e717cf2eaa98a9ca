// How fast can a FUSE file system built on fuse-native 2.2.6 (libfuse2) be at all? A measuring aid
// (not a test): a no-op file system in this process, mounted with mfsmount-ts's own libfuse options
// (large I/O, use_ino, default_permissions, attr/entry timeouts as mfsmount's defaults), whose
// handlers answer at once without touching any data: writes are accepted, reads return the buffer
// as it is, files exist only as names in a Set. A child process then drives it like bench:client
// does (1 MiB sequential write + fsync, sequential read and 20,000 4 KiB random reads after dropping
// caches, create/stat/unlink of
// empty files, synchronous node:fs calls one at a time). What it prints is the ceiling the binding
// and the libfuse2 kernel protocol (128 KiB requests, one path-based upcall each) leave for
// mfsmount-ts, to set beside the real mfsmount's figures from bench:client.
// Run as root:  node --import tsx packages/client/scripts/fuse-noop.ts [MIB=1024] [FILES=10000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuseOptionList, parseMountArgs } from '../src/options.js';

const MIB = Number(process.argv[2] ?? 1024);
const FILES = Number(process.argv[3] ?? 10000);
const require = createRequire(import.meta.url);
type Cb = (code: number, ...rest: unknown[]) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Fuse = require('fuse-native') as any;
const dir = mkdtempSync(join(tmpdir(), 'fuse-noop-'));
const { options } = parseMountArgs([dir, '-H', '127.0.0.1']);
const extra = fuseOptionList(options, []);
class NoopFuse extends Fuse {
  override _fuseOptions(): string {
    const base: string = super._fuseOptions();
    return `-o${[base.startsWith('-o') ? base.slice(2) : base, ...extra].filter(Boolean).join(',')}`;
  }
}
const now = new Date();
const st = (mode: number, size: number, ino: number) => ({ mode, size, ino, uid: 0, gid: 0, nlink: 1, atime: now, mtime: now, ctime: now, blksize: 65536, blocks: Math.ceil(size / 512) });
const BIG = MIB * 1024 * 1024;
const names = new Set<string>(['/big', '/meta']);
let ino = 10;
const inodes = new Map<string, number>([['/', 1], ['/big', 2], ['/meta', 3]]);
const ops = {
  getattr: (p: string, cb: Cb) => {
    if (p === '/' || p === '/meta') return cb(0, st(0o40755, 4096, inodes.get(p)!));
    if (!names.has(p)) return cb(Fuse.ENOENT);
    return cb(0, st(0o100644, p === '/big' ? BIG : 0, inodes.get(p)!));
  },
  fgetattr: (p: string, _fd: number, cb: Cb) => ops.getattr(p, cb),
  readdir: (_p: string, cb: Cb) => cb(0, [...names].filter((n) => n.lastIndexOf('/') === 0).map((n) => n.slice(1))),
  open: (_p: string, _f: number, cb: Cb) => cb(0, 1),
  create: (p: string, _m: number, cb: Cb) => {
    names.add(p);
    inodes.set(p, ino++);
    cb(0, 1);
  },
  unlink: (p: string, cb: Cb) => {
    names.delete(p);
    inodes.delete(p);
    cb(0);
  },
  truncate: (_p: string, _s: number, cb: Cb) => cb(0),
  ftruncate: (_p: string, _fd: number, _s: number, cb: Cb) => cb(0),
  utimens: (_p: string, _a: unknown, _m: unknown, cb: Cb) => cb(0),
  read: (_p: string, _fd: number, _buf: Buffer, len: number, pos: number, cb: Cb) => cb(Math.max(0, Math.min(len, BIG - pos))),
  write: (_p: string, _fd: number, _buf: Buffer, len: number, _pos: number, cb: Cb) => cb(len),
  flush: (_p: string, _fd: number, cb: Cb) => cb(0),
  fsync: (_p: string, _fd: number, _d: unknown, cb: Cb) => cb(0),
  release: (_p: string, _fd: number, cb: Cb) => cb(0),
};

const workload = `
const fs = require('node:fs');
const [dir, mib, files] = process.argv.slice(1);
const MiB = 1 << 20, out = {};
const t = (name, n, f) => { const t0 = process.hrtime.bigint(); f(); const s = Number(process.hrtime.bigint() - t0) / 1e9; out[name] = n / s; };
const buf = Buffer.alloc(MiB, 7);
t('write', mib * 1.048576, () => { const fd = fs.openSync(dir + '/big', 'r+'); for (let i = 0; i < mib; i++) fs.writeSync(fd, buf, 0, MiB, i * MiB); fs.fsyncSync(fd); fs.closeSync(fd); });
fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
t('read', mib * 1.048576, () => { const fd = fs.openSync(dir + '/big', 'r'); for (let i = 0; i < mib; i++) fs.readSync(fd, buf, 0, MiB, i * MiB); fs.closeSync(fd); });
fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
const b4 = Buffer.alloc(4096); let x = 2463534242; const blocks = mib * 256;
t('rand', 20000, () => { const fd = fs.openSync(dir + '/big', 'r'); for (let i = 0; i < 20000; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; fs.readSync(fd, b4, 0, 4096, ((x >>> 0) % blocks) * 4096); } fs.closeSync(fd); });
const names = Array.from({ length: files }, (_, i) => dir + '/meta/f' + i);
t('create', files, () => { for (const n of names) fs.closeSync(fs.openSync(n, 'wx')); });
t('stat', files, () => { for (const n of names) fs.statSync(n); });
t('unlink', files, () => { for (const n of names) fs.unlinkSync(n); });
console.log(JSON.stringify(out));
`;

const fuse = new NoopFuse(dir, ops, { timeout: false, force: true, mkdir: false });
await new Promise<void>((ok, no) => fuse.mount((e: Error | null) => (e ? no(e) : ok())));
const cpu0 = process.cpuUsage();
try {
  const child = spawn(process.execPath, ['-e', workload, dir, String(MIB), String(FILES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((ok) => child.on('close', ok));
  const cpu = process.cpuUsage(cpu0);
  const r = JSON.parse(out.trim()) as Record<string, number>;
  const f = (k: string) => r[k]!.toFixed(0);
  console.log(`fuse-native no-op file system (${MIB} MiB, ${FILES} files): write ${f('write')} MB/s, read ${f('read')} MB/s, 4 KiB random reads ${f('rand')}/s, create ${f('create')}/s, stat ${f('stat')}/s, unlink ${f('unlink')}/s; its process used ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU s`);
  // Last line, for bench:client: the figures as JSON (MB/s and ops/s).
  console.log(JSON.stringify(r));
} finally {
  await new Promise<void>((ok) => fuse.unmount(() => ok()));
  rmdirSync(dir);
}
