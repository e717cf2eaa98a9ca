// The health probe: one real request to the master's client port, as mfscli -SIG sends it.
// CLTOMA_INFO on an unregistered connection is answered by matoclserv_info (mfsmaster/matoclserv.c)
// with MATOCL_INFO, whose metaversion tells us the master has its metadata loaded and serves.
import { connect } from 'node:net';
import { CltomaInfo, MATOCL_INFO, MatoclInfo, PacketFramer } from '@mfs-ts/protocol';

export type ProbeResult =
  | { ok: true; ms: number; metaversion: bigint; version: number }
  /** refused: nothing listens (the master is dead); timeout: it listens but does not answer in time. */
  | { ok: false; ms: number; reason: 'refused' | 'timeout' | 'closed' | 'bad-reply' | 'error'; detail: string };

/** MATOCL_INFO is 149 bytes; anything much larger on this connection is not a master. */
const MAX_REPLY = 4096;
const REQUEST = CltomaInfo.encode({});

/** Asks `host:port` for CLTOMA_INFO and waits for a decodable MATOCL_INFO, within `timeoutMs`. */
export function probeMaster(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const sock = connect({ host, port });
    const framer = new PacketFramer(MAX_REPLY, 256);
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const ms = (): number => Math.round(performance.now() - t0);
    const timer = setTimeout(() => finish({ ok: false, ms: ms(), reason: 'timeout', detail: `no MATOCL_INFO within ${timeoutMs} ms` }), timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write(REQUEST));
    sock.on('data', (chunk: Buffer) => {
      const err = framer.push(chunk, (type, payload) => {
        if (type !== MATOCL_INFO) return; // e.g. a NOP: keep waiting
        const r = MatoclInfo.decode(payload);
        if (r.ok) finish({ ok: true, ms: ms(), metaversion: r.value.metaversion, version: r.value.version });
        else finish({ ok: false, ms: ms(), reason: 'bad-reply', detail: r.error.message });
      });
      if (err) finish({ ok: false, ms: ms(), reason: 'bad-reply', detail: err.message });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, ms: ms(), reason: e.code === 'ECONNREFUSED' ? 'refused' : 'error', detail: `${e.code ?? ''} ${e.message}`.trim() }));
    sock.on('close', () => finish({ ok: false, ms: ms(), reason: 'closed', detail: 'connection closed before MATOCL_INFO' }));
  });
}
