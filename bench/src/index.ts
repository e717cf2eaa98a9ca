// Codec micro-benchmarks for @mfs-ts/protocol: data-port framing with CRC (64 KiB pieces), the stream
// framer, LOOKUP / READDIR replies, ATTR records. Plain console table; each case runs for a fixed time
// budget so the whole run stays well under 30 s. `npm run bench` (in bench/ or via the root script).
import { crc32 } from 'node:zlib';
import {
  decodeAttr,
  encodeAttr,
  MatoclFuseLookup,
  MatoclFuseReaddir,
  newDataView,
  PacketFramer,
  parseReadData,
  parseWriteData,
  putAttr,
  putReadData,
  putWriteData,
  readAttr,
  Reader,
  Writer,
  type Attr,
} from '@mfs-ts/protocol';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 1200);

interface Row {
  case: string;
  'packets/s': string;
  'MB/s': string;
  'ns/op': string;
}
const rows: Row[] = [];

/** Runs `op` (which handles `batch` packets of `bytes` bytes each call) for the time budget. */
function bench(name: string, bytesPerPacket: number, batch: number, op: () => void): void {
  for (let i = 0; i < 3; i++) op(); // warm up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(BUDGET_MS) * 1_000_000n;
  let t = t0;
  while (t < end) {
    for (let i = 0; i < 8; i++) op();
    n += 8 * batch;
    t = process.hrtime.bigint();
  }
  const sec = Number(t - t0) / 1e9;
  const pps = n / sec;
  rows.push({
    case: name,
    'packets/s': Math.round(pps).toLocaleString('en-US'),
    'MB/s': bytesPerPacket ? ((pps * bytesPerPacket) / 1e6).toFixed(0) : '-',
    'ns/op': ((sec * 1e9) / n).toFixed(0),
  });
}

let sink = 0;

// --- data pieces: 64 KiB with CRC ---
const PIECE = 65536;
const data = Buffer.alloc(PIECE);
for (let i = 0; i < PIECE; i++) data[i] = (i * 2654435761) >>> 24;
const out = Buffer.allocUnsafe(PIECE + 64);
const view = newDataView();

bench('CLTOCS_WRITE_DATA encode 64K (+crc32)', PIECE, 1, () => {
  sink += putWriteData(out, 0, 0x1234, 7, 3, 0, data);
});
const wpkt = Buffer.from(out.subarray(0, putWriteData(out, 0, 0x1234, 7, 3, 0, data)));
bench('CLTOCS_WRITE_DATA parse 64K (+crc check)', PIECE, 1, () => {
  if (parseWriteData(wpkt.subarray(8), view) !== undefined || crc32(view.data) !== view.crc) throw new Error('bad');
  sink += view.size;
});
bench('CSTOCL_READ_DATA encode 64K (+crc32)', PIECE, 1, () => {
  sink += putReadData(out, 0, 0x1234, 3, 0, data);
});
const rpkt = Buffer.from(out.subarray(0, putReadData(out, 0, 0x1234, 3, 0, data)));
bench('CSTOCL_READ_DATA parse 64K (+crc check)', PIECE, 1, () => {
  if (parseReadData(rpkt.subarray(8), view) !== undefined || crc32(view.data) !== view.crc) throw new Error('bad');
  sink += view.size;
});
bench('crc32 alone 64K', PIECE, 1, () => {
  sink += crc32(data);
});

// --- framer: a stream of 64 KiB data packets, and of small packets, cut into 64 KiB socket reads ---
function stream(pkt: Buffer, count: number): Buffer[] {
  const all = Buffer.concat(Array.from({ length: count }, () => pkt));
  const chunks: Buffer[] = [];
  for (let o = 0; o < all.length; o += 65536) chunks.push(all.subarray(o, o + 65536));
  return chunks;
}
const bigChunks = stream(rpkt, 64);
const framerBig = new PacketFramer(100_000);
bench('framer, 64K data packets in 64K reads', rpkt.length, 64, () => {
  let got = 0;
  for (const c of bigChunks) framerBig.push(c, () => void got++);
  if (got !== 64) throw new Error(`framer lost packets: ${got}`);
});
const small = Buffer.alloc(8 + 40);
small.writeUInt32BE(409, 0);
small.writeUInt32BE(40, 4);
const smallChunks = stream(small, 8192);
const framerSmall = new PacketFramer(100_000);
bench('framer, 48-byte packets in 64K reads', small.length, 8192, () => {
  let got = 0;
  for (const c of smallChunks) framerSmall.push(c, () => void got++);
  if (got !== 8192) throw new Error(`framer lost packets: ${got}`);
});

// --- LOOKUP and READDIR replies ---
const attr: Attr = { flags: 0x0c, type: 1, mode: 0o644, uid: 1000, gid: 1000, atime: 1.7e9, mtime: 1.7e9, ctime: 1.7e9, nlink: 1, length: 123456, rdev: 0, winattr: 0 };
const w = new Writer(1 << 20);
const lookupVal = { $v: 'flags' as const, msgid: 42, inode: 1234, attr, lflags: 0x00fc };
bench('MATOCL_FUSE_LOOKUP encode (generic)', 54, 1, () => {
  w.reset();
  MatoclFuseLookup.write(w, lookupVal);
  sink += w.pos;
});
const lookupPkt = MatoclFuseLookup.encode(lookupVal);
bench('MATOCL_FUSE_LOOKUP decode (generic)', 54, 1, () => {
  const r = MatoclFuseLookup.decode(lookupPkt.subarray(8));
  if (!r.ok) throw r.error;
  sink += r.value.msgid;
});
const entries = Array.from({ length: 100 }, (_, i) => ({ name: Buffer.from(`file-${i.toString().padStart(6, '0')}.dat`), inode: 1000 + i, attr }));
const readdirVal = { $v: 'withAttr' as const, msgid: 7, nedgeid: 0n, entries };
const readdirPkt = MatoclFuseReaddir.encode(readdirVal);
bench('MATOCL_FUSE_READDIR encode, 100 entries w/ ATTR', readdirPkt.length, 1, () => {
  w.reset();
  MatoclFuseReaddir.write(w, readdirVal);
  sink += w.pos;
});
bench('MATOCL_FUSE_READDIR decode, 100 entries w/ ATTR', readdirPkt.length, 1, () => {
  const r = MatoclFuseReaddir.decode(readdirPkt.subarray(8));
  if (!r.ok) throw r.error;
  sink += r.value.msgid;
});

// --- ATTR ---
const attrBuf = encodeAttr(attr);
const ab = Buffer.allocUnsafe(36 * 1024);
bench('ATTR putAttr (into buffer)', 36, 1024, () => {
  let o = 0;
  for (let i = 0; i < 1024; i++) o = putAttr(ab, o, attr);
  sink += o;
});
const rd = new Reader();
bench('ATTR readAttr (from buffer)', 36, 1024, () => {
  rd.reset(ab);
  for (let i = 0; i < 1024; i++) sink += readAttr(rd).nlink;
});
bench('ATTR decodeAttr (Result)', 36, 1, () => {
  const r = decodeAttr(attrBuf);
  if (r.ok) sink += r.value.nlink;
});

console.log(`@mfs-ts/protocol codec benchmarks (node ${process.version}, ${BUDGET_MS} ms per case)`);
console.table(rows);
if (sink === -1) console.log(sink);
