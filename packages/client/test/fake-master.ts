import { createServer, type Server, type Socket } from 'node:net';
import {
  CLTOMA_MAXPACKETSIZE,
  CltomaFuseRegister,
  MatoclFuseRegister,
  PacketFramer,
  VERSHEX,
  clientPasscode,
  newChallenge,
  passwordDigest,
} from '@mfs-ts/protocol';

/**
 * A minimal master for unit tests: speaks CLTOMA_FUSE_REGISTER with our codec (GETRANDOM, NEWSESSION,
 * RECONNECT, CLOSESESSION), checks the password, and hands every other packet to `onRequest`, which
 * may answer through `reply` (or not at all, or drop the connection).
 */
export interface FakeConn {
  sock: Socket;
  sessionid: number;
  send(pkt: Buffer): void;
}

export interface FakeMasterOptions {
  password?: string;
  /** Never answer CLOSESESSION (a master that is slow or going away). */
  silentClose?: boolean;
  onRequest?: (conn: FakeConn, type: number, payload: Buffer) => void;
}

export class FakeMaster {
  readonly server: Server;
  port = 0;
  registers: string[] = [];
  conns = new Set<Socket>();
  private nextSession = 7;

  constructor(readonly opts: FakeMasterOptions) {
    this.server = createServer((s) => this.accept(s));
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Drops every client connection (a master restart, as the client sees it). */
  dropAll(): void {
    for (const s of this.conns) s.destroy();
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(s: Socket): void {
    this.conns.add(s);
    s.on('close', () => this.conns.delete(s));
    s.on('error', () => undefined);
    const framer = new PacketFramer(CLTOMA_MAXPACKETSIZE);
    let rnd: Buffer | undefined;
    const conn: FakeConn = { sock: s, sessionid: 0, send: (p) => s.write(p) };
    s.on('data', (chunk: Buffer) => {
      framer.push(chunk, (type, payload) => {
        if (type !== 400) {
          this.opts.onRequest?.(conn, type, Buffer.from(payload));
          return;
        }
        const r = CltomaFuseRegister.decode(payload);
        if (!r.ok) {
          s.destroy();
          return;
        }
        const v = r.value;
        this.registers.push(v.$v);
        if (v.$v === 'getrandom') {
          rnd = newChallenge();
          s.write(MatoclFuseRegister.encode({ $v: 'random', random: rnd }));
          return;
        }
        if (v.$v.startsWith('newsession')) {
          if (this.opts.password !== undefined) {
            const pass = (v as { passcode?: Buffer }).passcode;
            if (!pass || !rnd) {
              s.write(MatoclFuseRegister.encode({ $v: 'status', status: 36 }));
              return;
            }
            if (!pass.equals(clientPasscode(rnd, passwordDigest(this.opts.password)))) {
              s.write(MatoclFuseRegister.encode({ $v: 'status', status: 37 }));
              return;
            }
          }
          conn.sessionid = this.nextSession++;
          s.write(
            MatoclFuseRegister.encode({
              $v: 'session', version: VERSHEX, sessionid: conn.sessionid, metaid: 0x1234n, sesflags: 0, umask: 0, rootuid: 0,
              rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0xffffffff, disables: 0,
            }),
          );
          return;
        }
        if (v.$v === 'reconnect' || v.$v === 'reconnect_meta') {
          conn.sessionid = v.sessionid;
          s.write(MatoclFuseRegister.encode({ $v: 'reconnect', version: VERSHEX, status: 0 }));
          return;
        }
        if (v.$v.startsWith('closesession')) {
          if (this.opts.silentClose) return;
          s.write(MatoclFuseRegister.encode({ $v: 'status', status: 0 }));
        }
      });
    });
  }
}
