// Sequential write then read of MIB MiB through the Node API (1 MiB writes; reads of 128 KiB, 8 in
// flight, as the kernel sends them), run inside a lab namespace by throughput.ts. Prints MB/s.
import type { MfsClient as Client } from '../src/index.js';

const { host, port, mib, src } = JSON.parse(process.argv[2]!) as { host: string; port: number; mib: number; src?: string };
// `src`: another packages/client/src to measure (an older revision), else this tree's.
const { MfsClient } = (await import(src ? `${src}/index.ts` : '../src/index.js')) as { MfsClient: typeof Client };
const c = await MfsClient.connect({ host, port });
try {
  const buf = Buffer.alloc(1024 * 1024, 7);
  let t = performance.now();
  const w = await c.open('/api-seq.bin', 'w');
  for (let i = 0; i < mib; i++) await w.write(buf, 0, buf.length, i * buf.length);
  await w.sync();
  await w.close();
  const wr = (mib * 1.048576) / ((performance.now() - t) / 1000);
  await c.close();
  const c2 = await MfsClient.connect({ host, port });
  t = performance.now();
  const r = await c2.open('/api-seq.bin', 'r');
  const total = mib * 1024 * 1024;
  let next = 0;
  const piece = 128 * 1024;
  const worker = async () => {
    const b = Buffer.alloc(piece);
    while (next < total) {
      const at = next;
      next += piece;
      const { bytesRead } = await r.read(b, 0, piece, at);
      if (bytesRead !== piece) throw new Error(`short read at ${at}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const rd = (mib * 1.048576) / ((performance.now() - t) / 1000);
  await r.close();
  await c2.unlink('/api-seq.bin');
  await c2.close();
  process.stdout.write(`api write ${wr.toFixed(0)} MB/s read ${rd.toFixed(0)} MB/s\n`);
} catch (e) {
  await c.close().catch(() => undefined);
  throw e;
}
