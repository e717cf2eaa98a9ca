// A hostile data-port peer, run inside a lab host (`node --import tsx fuzz-peer.ts JSON`) by
// chunkserver.test.ts while a real mfsmount reads and writes through the same chunkservers. For
// `seconds`, `conns` connections per target each send bursts of random and malformed packets
// (garbage, oversized lengths, truncated packets, requests with wrong sizes, unknown chunk ids, wrong
// versions, data without a write, writes whose data has bad CRCs, chains to closed ports), then drop
// the link or let the server close it. Prints one JSON line of counts.
//
// It never changes data a client owns: write sessions name chunk ids no client has (>= 2^40) or a
// version no chunk has, so the chunkserver refuses them before touching a file; chain hops only name
// the lab's own addresses (`ips`).
import { connect, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import {
  ANTOAN_GET_CONFIG,
  ANTOAN_GET_VERSION,
  ANTOCS_GET_CHUNK_BLOCKS,
  ANTOCS_GET_CHUNK_CHECKSUM,
  ANTOCS_GET_CHUNK_CHECKSUM_TAB,
  CLTOAN_CHART,
  CLTOAN_MODULE_INFO,
  CLTOCS_HDD_LIST,
  CLTOCS_READ,
  CLTOCS_WRITE,
  CLTOCS_WRITE_DATA,
  CLTOCS_WRITE_FINISH,
  ipToU32,
} from '@mfs-ts/protocol';

interface Args {
  targets: Array<{ ip: string; port: number }>;
  /** Addresses a forged chain may name (the lab's hosts). */
  ips: string[];
  conns: number;
  seconds: number;
  seed: number;
}

const args = JSON.parse(process.argv[2]!) as Args;

// xorshift32: the run is reproducible from its seed.
let state = args.seed >>> 0 || 1;
function rnd(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
}
const below = (n: number): number => rnd() % n;
function bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
  return b;
}

function packet(type: number, body: Buffer, claimed = body.length): Buffer {
  const b = Buffer.allocUnsafe(8 + body.length);
  b.writeUInt32BE(type >>> 0, 0);
  b.writeUInt32BE(claimed >>> 0, 4);
  body.copy(b, 8);
  return b;
}

/** A chunk id no client has (the lab's master counts from 1), or a small one with a version no chunk has. */
function foreignChunk(body: Buffer, at: number): void {
  if (below(2) === 0) {
    body.writeUInt32BE(0x100 + below(0xfffff), at);
    body.writeUInt32BE(rnd(), at + 4);
    body.writeUInt32BE(1 + below(5), at + 8);
  } else {
    body.writeUInt32BE(0, at);
    body.writeUInt32BE(1 + below(40), at + 4);
    body.writeUInt32BE(0x7f000000 + below(0x1000000), at + 8);
  }
}

const kinds: Array<() => Buffer> = [
  // Garbage; the first byte is never 0, so no real message type can come out of it.
  () => {
    const b = bytes(1 + below(300));
    b[0] = 1 + below(255);
    return b;
  },
  // Known request types with random payloads (a forged CLTOCS_WRITE is built below instead).
  () => {
    const types = [0, 1, 2, ANTOAN_GET_VERSION, ANTOAN_GET_CONFIG, CLTOCS_READ, CLTOCS_WRITE_DATA, CLTOCS_WRITE_FINISH, ANTOCS_GET_CHUNK_BLOCKS,
      ANTOCS_GET_CHUNK_CHECKSUM, ANTOCS_GET_CHUNK_CHECKSUM_TAB, CLTOAN_CHART, CLTOAN_MODULE_INFO, CLTOCS_HDD_LIST, 7, 9999, 0x7fffffff];
    return packet(types[below(types.length)]!, bytes(below(120)));
  },
  // A length over the data port's limit (100,000) or absurd.
  () => packet([CLTOCS_READ, CLTOCS_WRITE_DATA, 0][below(3)]!, bytes(below(16)), [100_001, 0xffffffff, 50_000_000][below(3)]),
  // A packet cut short: the header promises more than ever comes (the peer stops mid-transfer).
  () => packet([CLTOCS_WRITE_DATA, CLTOCS_READ, ANTOAN_GET_VERSION][below(3)]!, bytes(below(64)), 200 + below(60_000)),
  // CLTOCS_READ well formed (protocol 0 or 1) for a chunk we do not have, or out of range.
  () => {
    const v1 = below(2);
    const body = Buffer.alloc(20 + v1);
    if (v1) body[0] = 1;
    foreignChunk(body, v1);
    body.writeUInt32BE([0, below(64 << 20), 0xfffffff0][below(3)]!, v1 + 12);
    body.writeUInt32BE([65536, below(1 << 27), 0][below(3)]!, v1 + 16);
    return packet(CLTOCS_READ, body);
  },
  // CLTOCS_WRITE for a foreign chunk, last in chain or through lab addresses (one closed port), then
  // data with bad CRCs and a finish for the wrong chunk.
  () => {
    const hops = below(3);
    const v1 = below(2);
    const body = Buffer.alloc(12 + v1 + 6 * hops);
    if (v1) body[0] = 1;
    foreignChunk(body, v1);
    for (let i = 0; i < hops; i++) {
      body.writeUInt32BE(ipToU32(args.ips[below(args.ips.length)]!) ?? 0, v1 + 12 + 6 * i);
      body.writeUInt16BE([9422, 9423, 9999][below(3)]!, v1 + 16 + 6 * i);
    }
    const parts = [packet(CLTOCS_WRITE, body)];
    for (let i = below(4); i > 0; i--) {
      const size = below(2) ? 65536 : 1 + below(4096);
      const d = Buffer.alloc(24 + size);
      body.copy(d, 0, v1, v1 + 8);
      d.writeUInt32BE(1 + i, 8);
      d.writeUInt16BE(below(1100), 12);
      d.writeUInt16BE(below(2) ? 0 : below(70_000) & 0xffff, 14);
      d.writeUInt32BE(size, 16);
      bytes(Math.min(size, 64)).copy(d, 24);
      d.writeUInt32BE((crc32(d.subarray(24)) + 1 + below(1000)) >>> 0, 20);
      parts.push(packet(CLTOCS_WRITE_DATA, d.subarray(0, below(4) ? d.length : 24 + below(size))));
    }
    if (below(2)) parts.push(packet(CLTOCS_WRITE_FINISH, bytes(below(2) ? 12 : below(20))));
    return Buffer.concat(parts);
  },
  // Requests with wrong sizes.
  () => packet([CLTOCS_WRITE, CLTOCS_READ, ANTOCS_GET_CHUNK_BLOCKS, CLTOCS_HDD_LIST, CLTOAN_MODULE_INFO][below(5)]!, bytes([0, 3, 11, 14, 19, 22, 25][below(7)]!)),
];

interface Counts {
  connections: number;
  packets: number;
  bytes: number;
  closedByServer: number;
  replies: number;
  refused: number;
}
const counts: Counts = { connections: 0, packets: 0, bytes: 0, closedByServer: 0, replies: 0, refused: 0 };

function open(ip: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

async function loop(t: { ip: string; port: number }, until: number): Promise<void> {
  while (Date.now() < until) {
    const s = await open(t.ip, t.port);
    if (!s) {
      counts.refused++;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    counts.connections++;
    let closed = false;
    s.on('data', () => counts.replies++);
    s.on('error', () => undefined);
    const gone = new Promise<void>((r) => s.once('close', () => ((closed = true), r())));
    for (let i = 1 + below(6); i > 0 && !closed; i--) {
      const p = kinds[below(kinds.length)]!();
      counts.packets++;
      counts.bytes += p.length;
      // Sometimes in pieces, as a slow peer would send it.
      if (below(4) === 0 && p.length > 2) {
        const cut = 1 + below(p.length - 1);
        s.write(p.subarray(0, cut));
        await new Promise((r) => setTimeout(r, below(20)));
        if (!closed) s.write(p.subarray(cut));
      } else s.write(p);
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 50 + below(250)))]);
    if (closed) counts.closedByServer++;
    else s.destroy();
  }
}

const until = Date.now() + args.seconds * 1000;
await Promise.all(args.targets.flatMap((t) => Array.from({ length: args.conns }, () => loop(t, until))));
process.stdout.write(`${JSON.stringify(counts)}\n`);
