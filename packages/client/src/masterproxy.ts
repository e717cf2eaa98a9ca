import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '@mfs-ts/common';
import { ipToU32 } from '@mfs-ts/protocol';
import { CLTOMA_FUSE_REGISTER, CLTOMA_FUSE_SNAPSHOT, CltomaFuseRegister, MatoclFuseRegister, PacketFramer, Writer } from './proto.js';
import type { MasterConn } from './mastercomm.js';

/**
 * The tools proxy of a mount (mfsclient/masterproxy.c): mfsgetgoal, mfsfileinfo and friends read
 * `.masterinfo` in the mount, connect to the address it names (this proxy, on 127.0.0.1), register
 * with REGISTER_TOOLS (answered here with status OK), and send requests that the mount forwards over
 * its own master session, relaying whatever answer comes back under the tool's msgid.
 */

/** Most a tool may send in one request (QUERYSIZE in masterproxy.c). */
const QUERY_MAX = 50_000;
/** A tool silent this long is dropped (TOOLTIMEOUTMS). */
const TOOL_TIMEOUT_MS = 20_000;

export class MasterProxy {
  private server: Server | undefined;
  private socks = new Set<Socket>();
  port = 0;
  /** Called after a tool made a snapshot (cached names may be stale). */
  onSnapshot: () => void = () => undefined;

  constructor(
    readonly master: MasterConn,
    readonly log: Logger,
    readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    const srv = createServer((s) => this.serve(s));
    this.server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, this.host, () => resolve());
    });
    srv.unref();
    this.port = (srv.address() as AddressInfo).port;
  }

  /** The proxy's address as the 32-bit number `.masterinfo` carries. */
  get ip(): number {
    return ipToU32(this.host) ?? 0;
  }

  stop(): void {
    this.server?.close();
    for (const s of this.socks) s.destroy();
    this.socks.clear();
  }

  private serve(s: Socket): void {
    this.socks.add(s);
    s.setNoDelay(true);
    s.setTimeout(TOOL_TIMEOUT_MS, () => s.destroy());
    s.on('close', () => this.socks.delete(s));
    s.on('error', () => undefined);
    const framer = new PacketFramer(QUERY_MAX);
    // Answers go back in request order even though the master may answer out of order.
    let chain: Promise<void> = Promise.resolve();
    s.on('data', (chunk: Buffer) => {
      const err = framer.push(chunk, (type, payload) => {
        if (type === CLTOMA_FUSE_REGISTER) {
          const r = CltomaFuseRegister.decode(payload);
          if (!r.ok || (r.value.$v !== 'tools' && r.value.$v !== 'tools_meta')) {
            this.log.info({ variant: r.ok ? r.value.$v : r.error.message }, 'tools proxy: bad register');
            s.destroy();
            return;
          }
          s.write(MatoclFuseRegister.encode({ $v: 'status', status: 0 }));
          return;
        }
        if (payload.length < 4) {
          s.destroy();
          return;
        }
        const toolMsgid = payload.readUInt32BE(0);
        const body = Buffer.from(payload.subarray(4));
        const answer = this.master.callAny((msgid) => {
          const w = new Writer(body.length + 16);
          w.begin(type).u32(msgid).bytes(body);
          return w.finishCopy();
        });
        chain = chain.then(async () => {
          let a: { payload: Buffer; type: number };
          try {
            a = await answer;
          } catch {
            s.destroy(); // as masterproxy.c does when fs_custom fails
            return;
          }
          if (type === CLTOMA_FUSE_SNAPSHOT) this.onSnapshot();
          const w = new Writer(a.payload.length + 16);
          w.begin(a.type).u32(toolMsgid).bytes(a.payload.subarray(4));
          s.write(w.finishCopy());
        });
      });
      if (err) s.destroy();
    });
  }
}
