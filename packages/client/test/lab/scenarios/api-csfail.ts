// A chunkserver dies (kill -9) under the Node API (run inside the lab host's namespace by
// ../client.test.ts): a goal-2 file stays readable through a handle that cached both copies, and
// writing goes on with the chain the master gives without the dead server. Marker files in `dir`
// sequence it with the test: we write "written" (with the port of the first cached copy) -> the test
// kills that chunkserver and writes "killed".
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MfsClient } from '../../../src/index.js';

const { host, port, password, dir } = JSON.parse(process.argv[2]!) as { host: string; port: number; password: string; dir: string };
const step = (s: string) => process.stdout.write(`ok ${s}\n`);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const waitFile = async (name: string) => {
  const deadline = Date.now() + 90_000;
  while (!existsSync(join(dir, name))) {
    if (Date.now() > deadline) throw new Error(`no ${name} from the test`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const c = await MfsClient.connect({ host, port, password, ioRetries: 8 });
let invalidated = false;
c.core.master.on('invalidateChunkCache', () => (invalidated = true));
try {
  await c.mkdir('/cs', { recursive: true });
  await c.setGoal('/cs', 2);
  const a = randomBytes(20 * 1024 * 1024 + 7);
  await c.writeFile('/cs/f.bin', a);
  assert.equal(await c.getGoal('/cs/f.bin'), 2);
  // Keep a handle open that has read once, so the client holds the chunk's location (both copies);
  // the test then kills the server listed first, and the next read must fail over by itself.
  const h0 = await c.open('/cs/f.bin', 'r');
  const first = Buffer.alloc(65536);
  await h0.read(first, 0, first.length, 0);
  const loc = c.core.reader.cachedLocation(h0.inode, 0);
  assert.ok(loc && loc.servers.length === 2, `cached location: ${JSON.stringify(loc)}`);
  writeFileSync(join(dir, 'written'), String(loc.servers[0]!.port));
  await waitFile('killed');
  const mid = Buffer.alloc(1024 * 1024);
  const t1 = Date.now();
  const { bytesRead } = await h0.read(mid, 0, mid.length, 10 * 1024 * 1024);
  assert.equal(bytesRead, mid.length);
  assert.ok(mid.equals(a.subarray(10 * 1024 * 1024, 11 * 1024 * 1024)));
  // The master tells sessions to drop cached locations when a chunkserver goes (706); whichever
  // came first, the read had to succeed.
  step(`failover read in ${Date.now() - t1} ms (invalidate from master: ${invalidated})`);
  await h0.close();

  // Read back: one copy of every chunk is gone, the other must serve it (the master may already
  // have dropped the dead server from its answers; the crc/refusal failover itself is a unit test).
  const t0 = Date.now();
  assert.equal(sha(await c.readFile('/cs/f.bin')), sha(a));
  step(`read after chunkserver loss in ${Date.now() - t0} ms`);

  // Write on: the master hands out a chain without the dead server.
  const b = randomBytes(6 * 1024 * 1024);
  const h = await c.open('/cs/f.bin', 'r+');
  await h.write(b, 0, b.length, a.length);
  await h.close();
  const all = await c.readFile('/cs/f.bin');
  assert.equal(all.length, a.length + b.length);
  assert.equal(sha(all), sha(Buffer.concat([a, b])));
  step('write after chunkserver loss');
  await c.unlink('/cs/f.bin');
} finally {
  await c.close();
}
step('closed');
