import { createConnection, type Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { WRITE_DATA_HEADER_SIZE, putWriteDataHeader } from '@mfs-ts/protocol';
import type { ToMain, ToWorker } from './csworker.js';

/**
 * The chunkserver side of chained writes, in a worker thread (mfsmount's write workers do the same
 * job beside its FUSE threads): it owns the write connections, computes each piece's crc32, writes
 * the CLTOCS_WRITE_DATA headers and data to the socket, and hands every byte it reads back to the
 * main thread, which frames and judges the answers. The data is read in place from the write
 * cache's shared block memory: nothing is copied on the way out. So the main thread, which answers
 * FUSE, spends no time in crc32 or in the socket writes (on loopback and veth the kernel does the
 * receiving side's TCP work in the sender's system call too).
 */

const port = parentPort!;
const CONNECT_TIMEOUT_MS = 2000;
const READ_BUFFER = 64 * 1024;
const slabs = new Map<number, Buffer>();
const socks = new Map<number, Socket>();
const post = (m: ToMain, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

function open(sid: number, host: string, p: number): void {
  let connected = false;
  const s = createConnection({
    host,
    port: p,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER),
      callback: (n: number, buf: Uint8Array) => {
        // A copy of its own (Buffer#slice would be a view of the reused read buffer), handed over.
        const bytes = new Uint8Array(n);
        bytes.set(buf.subarray(0, n));
        post({ t: 'data', sid, bytes }, [bytes.buffer as ArrayBuffer]);
        return true;
      },
    },
  });
  s.setNoDelay(true);
  socks.set(sid, s);
  const t = setTimeout(() => s.destroy(new Error('timeout')), CONNECT_TIMEOUT_MS);
  s.once('connect', () => {
    clearTimeout(t);
    connected = true;
    post({ t: 'open', sid });
  });
  s.on('error', (e) => {
    clearTimeout(t);
    if (socks.get(sid) !== s) return;
    socks.delete(sid);
    post(connected ? { t: 'end', sid, reason: `chunkserver ${host}:${p}: ${e.message}` } : { t: 'open', sid, error: `can't connect to chunkserver ${host}:${p}: ${e.message}` });
  });
  s.on('close', () => {
    clearTimeout(t);
    if (socks.get(sid) !== s) return;
    socks.delete(sid);
    post(connected ? { t: 'end', sid, reason: `chunkserver ${host}:${p} closed the connection` } : { t: 'open', sid, error: `can't connect to chunkserver ${host}:${p}: closed` });
  });
}

function pieces(sid: number, chunkid: number, list: Float64Array): void {
  const s = socks.get(sid);
  if (!s) return; // already gone: its end was reported
  const n = list.length / 6;
  const heads = Buffer.allocUnsafe(WRITE_DATA_HEADER_SIZE * n);
  s.cork();
  for (let i = 0; i < n; i++) {
    const k = i * 6;
    const [writeid, bno, from, to, slab, off] = [list[k]!, list[k + 1]!, list[k + 2]!, list[k + 3]!, list[k + 4]!, list[k + 5]!];
    const view = slabs.get(slab)!.subarray(off + from, off + to);
    const h = heads.subarray(i * WRITE_DATA_HEADER_SIZE, (i + 1) * WRITE_DATA_HEADER_SIZE);
    putWriteDataHeader(h, 0, chunkid, writeid, bno, from, to - from, crc32(view));
    s.write(h);
    s.write(view);
  }
  process.nextTick(() => s.uncork());
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'slab':
      slabs.set(m.id, Buffer.from(m.sab));
      return;
    case 'open':
      return open(m.sid, m.host, m.port);
    case 'raw':
      socks.get(m.sid)?.write(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      return;
    case 'pieces':
      return pieces(m.sid, m.chunkid, m.list);
    case 'close': {
      const s = socks.get(m.sid);
      socks.delete(m.sid);
      // A clean end: let what was written go out first.
      if (s) m.graceful ? s.end() : s.destroy();
      return;
    }
  }
});
