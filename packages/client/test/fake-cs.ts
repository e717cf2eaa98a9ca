import { createServer, type Server } from 'node:net';
import {
  CLTOCS_MAXPACKETSIZE,
  CLTOCS_READ,
  CLTOCS_WRITE,
  CLTOCS_WRITE_DATA,
  CLTOCS_WRITE_FINISH,
  CltocsRead,
  CltocsWrite,
  MFSBLOCKSIZE,
  PacketFramer,
  crc32,
  newDataView,
  parseWriteData,
  putReadDataHeader,
  putReadStatus,
  putWriteStatus,
} from '@mfs-ts/protocol';

/**
 * A chunkserver data port for unit tests, built on the protocol package's codecs: keeps one chunk's
 * bytes in memory, serves CLTOCS_READ in per-block CSTOCL_READ_DATA pieces (optionally with a wrong
 * crc, to test failover) and accepts a chained write (recording the chain it was given).
 */
export class FakeChunkserver {
  readonly server: Server;
  port = 0;
  data = Buffer.alloc(4 * MFSBLOCKSIZE);
  corrupt = false;
  reads = 0;
  chains: Array<Array<{ ip: number; port: number }>> = [];
  pieces: Array<{ writeid: number; blocknum: number; offset: number; size: number; crcOk: boolean }> = [];
  finishes = 0;
  /** Answer the first WRITE_DATA with this writeid with an IO error (once). */
  failWriteId = 0;

  constructor() {
    this.server = createServer((s) => {
      s.on('error', () => undefined);
      const framer = new PacketFramer(CLTOCS_MAXPACKETSIZE);
      const dv = newDataView();
      s.on('data', (chunk: Buffer) => {
        framer.push(chunk, (type, payload) => {
          if (type === CLTOCS_READ) {
            this.reads++;
            const r = CltocsRead.decode(payload);
            if (!r.ok) return void s.destroy();
            const { chunkid, offset, size } = r.value;
            let pos = offset;
            while (pos < offset + size) {
              const bno = Math.floor(pos / MFSBLOCKSIZE);
              const boff = pos % MFSBLOCKSIZE;
              const n = Math.min(MFSBLOCKSIZE - boff, offset + size - pos);
              const piece = Buffer.from(this.data.subarray(pos, pos + n));
              const crc = crc32(piece);
              if (this.corrupt) piece[0] ^= 0xff;
              const h = Buffer.allocUnsafe(28);
              putReadDataHeader(h, 0, chunkid, bno, boff, n, crc);
              s.write(h);
              s.write(piece);
              pos += n;
            }
            const st = Buffer.allocUnsafe(17);
            putReadStatus(st, 0, chunkid, 0);
            s.write(st);
          } else if (type === CLTOCS_WRITE) {
            const r = CltocsWrite.decode(payload);
            if (!r.ok) return void s.destroy();
            this.chains.push(r.value.chain);
            const st = Buffer.allocUnsafe(21);
            putWriteStatus(st, 0, r.value.chunkid, 0, 0);
            s.write(st);
          } else if (type === CLTOCS_WRITE_DATA) {
            if (parseWriteData(payload, dv) !== undefined) return void s.destroy();
            if (this.failWriteId !== 0 && dv.writeid === this.failWriteId) {
              this.failWriteId = 0;
              const st = Buffer.allocUnsafe(21);
              putWriteStatus(st, 0, dv.chunkid, dv.writeid, 22);
              s.write(st);
              return;
            }
            const ok = crc32(dv.data) === dv.crc;
            this.pieces.push({ writeid: dv.writeid, blocknum: dv.blocknum, offset: dv.offset, size: dv.size, crcOk: ok });
            dv.data.copy(this.data, dv.blocknum * MFSBLOCKSIZE + dv.offset);
            const st = Buffer.allocUnsafe(21);
            putWriteStatus(st, 0, dv.chunkid, dv.writeid, ok ? 0 : 29);
            s.write(st);
          } else if (type === CLTOCS_WRITE_FINISH) {
            this.finishes++;
          }
        });
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
