// A small pcap reader and TCP stream reassembler, enough for captures tcpdump makes in the lab:
// classic pcap files (µs or ns timestamps, either byte order) on Ethernet, Linux "cooked" v1/v2
// (`-i any`), BSD loopback or raw IPv4 links; IPv4 + TCP only. Segments are placed by sequence number,
// so duplicates (the same packet seen on two interfaces, retransmissions) and reordering are harmless.
import { readFileSync } from 'node:fs';
import { LabError } from './errors.js';

export interface TcpSegment {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  seq: number;
  flags: number;
  data: Buffer;
  /** Capture time in seconds. */
  ts: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

const ipv4 = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** Every TCP segment of a pcap file, in file order. */
export function readPcapTcp(path: string): TcpSegment[] {
  const buf = readFileSync(path);
  if (buf.length < 24) throw new LabError('MFSL_USAGE', `${path}: too short for a pcap file (${buf.length} bytes)`);
  const magicBE = buf.readUInt32BE(0);
  let le: boolean;
  let nano: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    le = false;
    nano = magicBE === 0xa1b23c4d;
  } else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) {
    le = true;
    nano = magicBE === 0x4d3cb2a1;
  } else {
    throw new LabError('MFSL_USAGE', `${path}: not a classic pcap file (magic ${magicBE.toString(16)}; pcapng is not supported)`);
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0x0fffffff;
  const out: TcpSegment[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const ts = u32(off) + u32(off + 4) / (nano ? 1e9 : 1e6);
    const incl = u32(off + 8);
    const rec = off + 16;
    off = rec + incl;
    if (off > buf.length) break; // truncated last record (capture killed mid-write)
    const frame = buf.subarray(rec, rec + incl);
    const ipOff = networkOffset(linktype, frame);
    if (ipOff < 0) continue;
    const seg = parseIpv4Tcp(frame, ipOff, ts);
    if (seg) out.push(seg);
  }
  return out;
}

/** Offset of the IPv4 header in a frame, or -1 when the frame is not IPv4. */
function networkOffset(linktype: number, f: Buffer): number {
  switch (linktype) {
    case 1: {
      // Ethernet, possibly with 802.1Q tags
      let o = 12;
      let et = f.length >= 14 ? f.readUInt16BE(o) : 0;
      while ((et === 0x8100 || et === 0x88a8) && f.length >= o + 6) {
        o += 4;
        et = f.readUInt16BE(o);
      }
      return et === 0x0800 ? o + 2 : -1;
    }
    case 113: // Linux cooked v1: 16-byte header, protocol at 14
      return f.length >= 16 && f.readUInt16BE(14) === 0x0800 ? 16 : -1;
    case 276: // Linux cooked v2: 20-byte header, protocol at 0
      return f.length >= 20 && f.readUInt16BE(0) === 0x0800 ? 20 : -1;
    case 0: // BSD loopback: 4-byte family in host order
    case 108:
      return f.length >= 4 && (f.readUInt32LE(0) === 2 || f.readUInt32BE(0) === 2) ? 4 : -1;
    case 101: // raw IP
    case 228:
      return 0;
    default:
      return -1;
  }
}

function parseIpv4Tcp(f: Buffer, o: number, ts: number): TcpSegment | undefined {
  if (f.length < o + 20 || f[o]! >> 4 !== 4) return undefined;
  const ihl = (f[o]! & 15) * 4;
  const total = f.readUInt16BE(o + 2);
  if (f[o + 9] !== 6) return undefined; // not TCP
  if ((f.readUInt16BE(o + 6) & 0x3fff) !== 0) return undefined; // fragments: not in our captures
  const t = o + ihl;
  const end = Math.min(f.length, o + total);
  if (end < t + 20) return undefined;
  const doff = (f[t + 12]! >> 4) * 4;
  return {
    src: ipv4(f, o + 12),
    dst: ipv4(f, o + 16),
    sport: f.readUInt16BE(t),
    dport: f.readUInt16BE(t + 2),
    seq: f.readUInt32BE(t + 4),
    flags: f[t + 13]!,
    data: f.subarray(t + doff, end),
    ts,
  };
}

export interface TcpDirection {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Reassembled bytes, up to the first hole. */
  data: Buffer;
  /** Bytes missing (holes in the capture): the data after the first hole is dropped. */
  missing: number;
  firstTs: number;
  /** How this side ended the connection, if the capture saw it. */
  end: 'fin' | 'rst' | undefined;
}

export interface TcpConnection {
  /** The side that sent the SYN (or, without a SYN seen, the side with the higher port). */
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** client -> server, server -> client. */
  up: TcpDirection;
  down: TcpDirection;
  synSeen: boolean;
  firstTs: number;
}

interface DirAcc {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  isn: number | undefined;
  firstSeq: number | undefined;
  syn: boolean;
  synAck: boolean;
  segs: Map<number, Buffer>;
  firstTs: number;
  end: 'fin' | 'rst' | undefined;
}

/**
 * Groups segments (from one or several captures of the same traffic) into connections and
 * reassembles each direction by sequence number. A 4-tuple reused after a new SYN starts a new
 * connection.
 */
export function reassemble(segments: readonly TcpSegment[]): TcpConnection[] {
  const sorted = [...segments].sort((a, b) => a.ts - b.ts);
  const dirs = new Map<string, DirAcc>();
  const done: [DirAcc, DirAcc | undefined][] = [];
  const key = (s: string, sp: number, d: string, dp: number): string => `${s}:${sp}>${d}:${dp}`;
  const emit = (k: string): void => {
    const a = dirs.get(k);
    if (!a) return;
    const rk = key(a.dst, a.dport, a.src, a.sport);
    const b = dirs.get(rk);
    dirs.delete(k);
    dirs.delete(rk);
    done.push([a, b]);
  };
  for (const s of sorted) {
    const k = key(s.src, s.sport, s.dst, s.dport);
    let a = dirs.get(k);
    const isSyn = (s.flags & TCP_SYN) !== 0;
    if (a && isSyn && !(s.flags & TCP_ACK) && a.isn !== undefined && a.isn !== s.seq) {
      emit(k); // a new connection on the same 4-tuple
      a = undefined;
    }
    if (!a) {
      a = { src: s.src, sport: s.sport, dst: s.dst, dport: s.dport, isn: undefined, firstSeq: undefined, syn: false, synAck: false, segs: new Map(), firstTs: s.ts, end: undefined };
      dirs.set(k, a);
    }
    if (isSyn) {
      a.isn = s.seq;
      a.syn = !(s.flags & TCP_ACK);
      a.synAck = (s.flags & TCP_ACK) !== 0;
    }
    if (s.flags & TCP_RST) a.end = 'rst';
    else if (s.flags & TCP_FIN && a.end === undefined) a.end = 'fin';
    if (s.data.length === 0) continue;
    const base = a.isn !== undefined ? (a.isn + 1) >>> 0 : (a.firstSeq ??= s.seq);
    const rel = (s.seq - base) | 0; // signed: tolerate wrap-around
    if (rel < 0) continue;
    const prev = a.segs.get(rel);
    if (!prev || prev.length < s.data.length) a.segs.set(rel, s.data);
  }
  for (const k of [...dirs.keys()]) if (dirs.has(k)) emit(k);

  const out: TcpConnection[] = [];
  for (const [a, b] of done) {
    // The SYN sender is the client; without a SYN, guess the side with the higher (ephemeral) port.
    const aIsClient = a.syn || (!b?.syn && !a.synAck && a.sport > a.dport);
    const flip = (d: DirAcc): DirAcc => ({ src: d.dst, sport: d.dport, dst: d.src, dport: d.sport, isn: undefined, firstSeq: undefined, syn: false, synAck: false, segs: new Map(), firstTs: d.firstTs, end: undefined });
    const up = aIsClient ? a : (b ?? flip(a));
    const dn = aIsClient ? (b ?? flip(a)) : a;
    out.push({
      client: { ip: up.src, port: up.sport },
      server: { ip: up.dst, port: up.dport },
      up: join(up),
      down: join(dn),
      synSeen: up.syn,
      firstTs: Math.min(up.firstTs, dn.firstTs),
    });
  }
  return out.sort((x, y) => x.firstTs - y.firstTs);
}

function join(d: DirAcc): TcpDirection {
  const offs = [...d.segs.keys()].sort((x, y) => x - y);
  const parts: Buffer[] = [];
  let pos = 0;
  let missing = 0;
  for (const o of offs) {
    const seg = d.segs.get(o)!;
    if (o > pos) {
      // a hole: what follows cannot be framed reliably
      missing = o - pos;
      break;
    }
    const skip = pos - o;
    if (skip >= seg.length) continue;
    parts.push(skip ? seg.subarray(skip) : seg);
    pos = o + seg.length;
  }
  return { src: d.src, sport: d.sport, dst: d.dst, dport: d.dport, data: Buffer.concat(parts), missing, firstTs: d.firstTs, end: d.end };
}
