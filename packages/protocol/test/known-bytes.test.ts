import { describe, expect, it } from 'vitest';
import {
  AntoanNop, AntoanVersion, CltomaFuseLookup, CltomaFuseRegister, CltocsWriteData, CstomaRegister, CstoclReadData,
  MatoanMetachangesLog, MatoclFuseGetattr, MatoclFuseReadChunk, MatoclFuseReaddir, MatocsDuplicate, MatoclFuseGetsclass,
  FUSE_REGISTER_BLOB_ACL, VERSHEX, messageByName, type MessageDef,
} from '../src/index.js';

// Packets written out by hand from the C code that builds them (cited per case), independent of our
// serializer: each is decoded, checked field by field, and re-encoded to the same bytes.
const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

function roundTrip(m: MessageDef<any>, packet: Buffer): any {
  expect(packet.readUInt32BE(0)).toBe(m.id);
  expect(packet.readUInt32BE(4)).toBe(packet.length - 8);
  const r = m.decode(packet.subarray(8));
  if (!r.ok) throw r.error;
  expect(m.encode(r.value).toString('hex')).toBe(packet.toString('hex'));
  return r.value;
}

describe('known bytes', () => {
  it('ANTOAN_NOP on server links is 8 zero bytes', () => {
    const v = roundTrip(AntoanNop, hex('00000000 00000000'));
    expect(v.$v).toBe('empty');
  });

  it('CLTOMA_FUSE_LOOKUP with groups and with the single-gid form (mastercomm.c fs_lookup)', () => {
    const g = roundTrip(CltomaFuseLookup, hex('00000196 0000001b | 00000007 00000001 02 6162 000003e8 00000002 00000064 00000065'));
    expect(g).toMatchObject({ $v: 'groups', msgid: 7, inode: 1, uid: 1000, gids: [100, 101] });
    expect(g.name.toString()).toBe('ab');
    const s = roundTrip(CltomaFuseLookup, hex('00000196 00000012 | 00000008 00000001 01 61 00000000 ffffffff'));
    expect(s).toMatchObject({ $v: 'single', msgid: 8, uid: 0, gid: 0xffffffff });
  });

  it('MATOCL_FUSE_GETATTR: a file, a symlink and a char device ATTR (fsnodes_fill_attr), and a status', () => {
    const file = roundTrip(MatoclFuseGetattr, hex('00000199 00000028 | 00000007 0c 11a4 000003e8 00000064 5f000000 5f000001 5f000002 00000001 0000000000001000 00'));
    expect(file.attr).toEqual({ flags: 0x0c, type: 1, mode: 0o644, uid: 1000, gid: 100, atime: 0x5f000000, mtime: 0x5f000001, ctime: 0x5f000002, nlink: 1, length: 4096, rdev: 0, winattr: 0 });
    const link = roundTrip(MatoclFuseGetattr, hex('00000199 00000028 | 00000009 08 31ff 00000000 00000000 00000001 00000001 00000001 00000001 00000000 0000000b 00'));
    expect(link.attr).toMatchObject({ type: 3, mode: 0o777, length: 11 });
    const dev = roundTrip(MatoclFuseGetattr, hex('00000199 00000028 | 0000000a 08 61b6 00000000 00000000 00000001 00000001 00000001 00000001 00000501 00000000 00'));
    expect(dev.attr).toMatchObject({ type: 6, mode: 0o666, rdev: 0x501, length: 0 });
    const st = roundTrip(MatoclFuseGetattr, hex('00000199 00000005 | 0000000b 03'));
    expect(st).toEqual({ $v: 'status', msgid: 11, status: 3 });
  });

  it('MATOCL_FUSE_READDIR with ATTR entries (fsnodes_readdirdata): "." first', () => {
    const attr = '08 21ed 00000000 00000000 00000001 00000001 00000001 00000002 0000000000000001 00';
    const v = roundTrip(MatoclFuseReaddir, hex(`000001ad 00000036 | 00000005 0000000000000001 | 01 2e 00000001 ${attr}`));
    expect(v.$v).toBe('withAttr');
    expect(v.entries).toHaveLength(1);
    expect(v.entries[0].name.toString()).toBe('.');
    expect(v.entries[0].attr).toMatchObject({ type: 2, mode: 0o755, nlink: 2, length: 1 });
  });

  it('MATOCL_FUSE_READDIR without ATTR: NAME inode type:8 entries', () => {
    const v = roundTrip(MatoclFuseReaddir, hex('000001ad 0000001b | 00000006 0000000000000000 | 01 2e 00000001 02 | 02 2e2e 00000001 02'));
    expect(v.$v).toBe('plain');
    expect(v.entries.map((e: any) => [e.name.toString(), e.inode, e.type])).toEqual([['.', 1, 2], ['..', 1, 2]]);
  });

  it('MATOCL_FUSE_READ_CHUNK, csdata version 2 (matoclserv_fuse_read_chunk_common)', () => {
    const v = roundTrip(MatoclFuseReadChunk, hex('000001b1 00000027 | 00000003 02 0000000004000000 0000000000000011 00000001 | 0a000002 2496 000300ea 00000000'));
    expect(v).toMatchObject({ $v: 'ok', msgid: 3, length: 0x4000000, chunkid: 0x11, version: 1 });
    expect(v.servers).toEqual([{ ip: 0x0a000002, port: 9366, csver: VERSHEX, labelmask: 0 }]);
  });

  it('MATOCL_FUSE_GETSCLASS lists files first, named classes as 0xFF NAME (matoclserv_fuse_getsclass)', () => {
    const v = roundTrip(MatoclFuseGetsclass, hex('000001bf 00000013 | 00000001 01 01 | 02 00000005 | ff 02 6162 00000001'));
    expect(v.nodes[0]).toEqual([{ tag: 2, count: 5 }]);
    expect(v.nodes[1][0].tag).toBe(255);
    expect(v.nodes[1][0].name.toString()).toBe('ab');
  });

  it('CLTOMA_FUSE_REGISTER GETRANDOM is the blob and rcode 1', () => {
    const p = Buffer.concat([hex('00000190 00000041'), FUSE_REGISTER_BLOB_ACL, hex('01')]);
    expect(roundTrip(CltomaFuseRegister, p).$v).toBe('getrandom');
  });

  it('CSTOMA_REGISTER stage 60 without passcode (masterconn_sendregister)', () => {
    const p = hex('00000064 00000037 | 3c 000300ea 0a000001 2496 000a 0001 0000000000001000 0000000100000000 00000003 0000000000000000 0000000000000000 00000000');
    const v = roundTrip(CstomaRegister, p);
    expect(v).toMatchObject({ $v: 'begin', rversion: 60, version: VERSHEX, ip: 0x0a000001, port: 9366, timeout: 10, csid: 1, usedspace: 4096n, totalspace: 1n << 32n, chunkcount: 3 });
  });

  it('MATOCS_DUPLICATE puts the new chunk first (masterconn_duplicate)', () => {
    const v = roundTrip(MatocsDuplicate, hex('00000082 00000018 | 0000000000000010 00000001 0000000000000005 00000003'));
    expect(v).toEqual({ copychunkid: 0x10, copyversion: 1, chunkid: 5, version: 3 });
  });

  it('MATOAN_METACHANGES_LOG change record and rotate byte (matomlserv_broadcast_logstring)', () => {
    const v = roundTrip(MatoanMetachangesLog, hex(`00000033 00000015 | ff 000000000000002a ${Buffer.from('1|ACCESS(1)\0').toString('hex')}`));
    expect(v).toMatchObject({ $v: 'change', version: 42n });
    expect(v.data.toString()).toBe('1|ACCESS(1)\0');
    expect(roundTrip(MatoanMetachangesLog, hex('00000033 00000001 55')).$v).toBe('rotate');
  });

  it('ANTOAN_VERSION with and without msgid (matoclserv_get_version)', () => {
    const s = Buffer.from('3.0.117-1').toString('hex');
    const bare = roundTrip(AntoanVersion, hex(`0000000b 0000000d 000300ea ${s}`));
    expect(bare).toMatchObject({ $v: 'bare', version: 0x0300ea });
    expect(bare.vstring.toString()).toBe('3.0.117-1');
    const withId = roundTrip(AntoanVersion, hex(`0000000b 00000011 00000009 000300ea ${s}`));
    expect(withId).toMatchObject({ $v: 'msgid', msgid: 9, version: 0x0300ea });
  });

  it('CLTOCS_WRITE_DATA and CSTOCL_READ_DATA pieces (mainserv.c)', () => {
    // crc32("hello") = 0x3610a686
    const w = roundTrip(CltocsWriteData, hex('000000d4 0000001d | 0000000000000011 00000001 0002 0010 00000005 3610a686 68656c6c6f'));
    expect(w).toMatchObject({ chunkid: 0x11, writeid: 1, blocknum: 2, offset: 16, size: 5, crc: 0x3610a686 });
    const r = roundTrip(CstoclReadData, hex('000000ca 00000019 | 0000000000000011 0002 0010 00000005 3610a686 68656c6c6f'));
    expect(r.data.toString()).toBe('hello');
  });

  it('rejects a packet one byte short or long of its layout', () => {
    const m = messageByName('CLTOMA_FUSE_GETDIRSTATS')!;
    expect(m.decode(hex('00000001 00000002')).ok).toBe(true);
    const short = m.decode(hex('00000001 000000'));
    expect(short.ok || short.error.code).toBe('MFS_PROTO_TRUNCATED');
    const long = m.decode(hex('00000001 00000002 00'));
    expect(long.ok || long.error.code).toBe('MFS_PROTO_TRAILING');
  });
});
