// Runs inside the lab host's network namespace (started by ../client.test.ts through nsenter): the
// Node API against a real mfsmaster and real chunkservers. Prints one "ok <step>" line per step;
// any failure exits non-zero with the error.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MfsClient, MfsClientError } from '../../../src/index.js';

const { host, port, password } = JSON.parse(process.argv[2]!) as { host: string; port: number; password: string };
const step = (s: string) => process.stdout.write(`ok ${s}\n`);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function expectCode(p: Promise<unknown>, code: string, what: string): Promise<MfsClientError> {
  try {
    await p;
  } catch (e) {
    assert.ok(MfsClientError.is(e), `${what}: not an MfsClientError: ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return e;
  }
  assert.fail(`${what}: expected ${code}, it succeeded`);
}

// Wrong and missing passwords: MooseFS's own register errors.
{
  const e = await expectCode(MfsClient.connect({ host, port, password: 'not-the-password', ioRetries: 2 }), 'EACCES', 'wrong password');
  assert.equal(e.status, 37);
  assert.match(e.message, /Incorrect password/);
  const e2 = await expectCode(MfsClient.connect({ host, port, ioRetries: 2 }), 'EACCES', 'no password');
  assert.equal(e2.status, 36);
  assert.match(e2.message, /Password is needed/);
  step('register errors');
}

// The meta file system (export '.', no password in this lab).
{
  const meta = await MfsClient.connect({ host, port, meta: true, ioRetries: 2 });
  assert.ok(meta.sessionId > 0);
  // A meta session has no directory tree of its own on the master (mfsmount builds trash/ and
  // sustained/ itself); statfs is one request it may make.
  assert.equal(typeof (await meta.statfs()).totalspace, 'bigint');
  await meta.close();
  step('meta session');
}

const c = await MfsClient.connect({ host, port, password, ioRetries: 5 });
try {
  assert.ok(c.sessionId > 0);
  step(`connect session ${c.sessionId}`);

  await c.mkdir('/d1');
  await c.mkdir('/d1/sub/deeper', { recursive: true });
  await expectCode(c.mkdir('/d1'), 'EEXIST', 'mkdir twice');
  assert.deepEqual((await c.readdir('/d1')).sort(), ['sub']);
  assert.ok((await c.stat('/d1/sub/deeper')).isDirectory());
  step('mkdir readdir');

  // A session rooted in a subfolder (NEWSESSION carries the path; the master maps inode 1 to it).
  {
    const sub = await MfsClient.connect({ host, port, password, subfolder: '/d1', ioRetries: 2 });
    assert.deepEqual(await sub.readdir('/'), ['sub']);
    assert.ok((await sub.stat('/sub/deeper')).isDirectory());
    await expectCode(sub.stat('/d1'), 'ENOENT', 'outside the subfolder');
    await sub.close();
    step('subfolder');
  }

  // Several MiB, with an odd size so the last block is partial.
  const big = randomBytes(5 * 1024 * 1024 + 12345);
  await c.writeFile('/d1/big.bin', big);
  const st = await c.stat('/d1/big.bin');
  assert.equal(st.size, big.length);
  assert.ok(st.isFile());
  const back = await c.readFile('/d1/big.bin');
  assert.equal(back.length, big.length);
  assert.equal(sha(back), sha(big));
  step('write/read 5 MiB');

  // Positional I/O on a handle: write a middle piece, read pieces back at odd offsets.
  const h = await c.open('/d1/big.bin', 'r+');
  const patch = randomBytes(100_000);
  await h.write(patch, 0, patch.length, 1_000_003);
  patch.copy(big, 1_000_003);
  const piece = Buffer.alloc(300_000);
  const { bytesRead } = await h.read(piece, 0, piece.length, 900_001);
  assert.equal(bytesRead, piece.length);
  assert.equal(sha(piece), sha(big.subarray(900_001, 1_200_001)));
  await h.close();
  assert.equal(sha(await c.readFile('/d1/big.bin')), sha(big));
  step('positional write/read');

  // Across the 64 MiB chunk boundary.
  const CH = 64 * 1024 * 1024;
  const edge = randomBytes(3 * 1024 * 1024);
  const h2 = await c.open('/d1/edge.bin', 'w+');
  await h2.write(edge, 0, edge.length, CH - 1024 * 1024);
  await h2.close();
  assert.equal((await c.stat('/d1/edge.bin')).size, CH + 2 * 1024 * 1024);
  const h3 = await c.open('/d1/edge.bin', 'r');
  const got = Buffer.alloc(edge.length);
  await h3.read(got, 0, got.length, CH - 1024 * 1024);
  assert.equal(sha(got), sha(edge));
  const hole = Buffer.alloc(4096, 1);
  await h3.read(hole, 0, hole.length, 10 * 1024 * 1024);
  assert.ok(hole.every((b) => b === 0), 'hole reads as zeros');
  await h3.close();
  step('across chunk boundary');

  await c.rename('/d1/big.bin', '/d1/sub/moved.bin');
  await expectCode(c.stat('/d1/big.bin'), 'ENOENT', 'old name after rename');
  assert.equal((await c.stat('/d1/sub/moved.bin')).size, big.length);
  step('rename');

  await c.symlink('sub/moved.bin', '/d1/link');
  assert.equal(await c.readlink('/d1/link'), 'sub/moved.bin');
  assert.ok((await c.lstat('/d1/link')).isSymbolicLink());
  assert.equal((await c.stat('/d1/link')).size, big.length);
  step('symlink');

  await c.link('/d1/sub/moved.bin', '/d1/hard');
  assert.equal((await c.stat('/d1/hard')).nlink, 2);
  step('link');

  await c.truncate('/d1/hard', 1000);
  assert.equal((await c.stat('/d1/sub/moved.bin')).size, 1000);
  assert.equal(sha(await c.readFile('/d1/sub/moved.bin')), sha(big.subarray(0, 1000)));
  await c.truncate('/d1/hard', 70_000);
  const grown = await c.readFile('/d1/hard');
  assert.equal(grown.length, 70_000);
  assert.equal(sha(grown.subarray(0, 1000)), sha(big.subarray(0, 1000)));
  assert.ok(grown.subarray(1000).every((b) => b === 0));
  step('truncate');

  await c.chmod('/d1/hard', 0o640);
  assert.equal((await c.stat('/d1/hard')).mode & 0o7777, 0o640);
  await c.chown('/d1/hard', 1234, 5678);
  const owned = await c.stat('/d1/hard');
  assert.deepEqual([owned.uid, owned.gid], [1234, 5678]);
  await c.utimes('/d1/hard', new Date(1_000_000_000_000), new Date(1_100_000_000_000));
  const timed = await c.stat('/d1/hard');
  assert.deepEqual([timed.atimeMs, timed.mtimeMs], [1_000_000_000_000, 1_100_000_000_000]);
  step('chmod chown utimes');

  await c.setxattr('/d1/hard', 'user.color', 'blue');
  assert.equal((await c.getxattr('/d1/hard', 'user.color')).toString(), 'blue');
  assert.ok((await c.listxattr('/d1/hard')).includes('user.color'));
  await c.removexattr('/d1/hard', 'user.color');
  await expectCode(c.getxattr('/d1/hard', 'user.color'), 'ENODATA', 'removed xattr');
  step('xattr');

  await c.setGoal('/d1/hard', 2);
  assert.equal(await c.getGoal('/d1/hard'), 2);
  await c.setTrashTime('/d1/hard', 3600);
  assert.equal(await c.getTrashTime('/d1/hard'), 3600);
  step('goal trashtime');

  await c.unlink('/d1/hard');
  await c.unlink('/d1/link');
  await c.unlink('/d1/sub/moved.bin');
  await expectCode(c.unlink('/d1/sub/moved.bin'), 'ENOENT', 'unlink twice');
  await expectCode(c.rmdir('/d1'), 'ENOTEMPTY', 'rmdir non-empty');
  await c.rmdir('/d1/sub/deeper');
  assert.deepEqual(await c.readdir('/d1/sub'), []);
  step('unlink rmdir');

  // mtime after writes: 3.0.74+ masters take it from CLTOMA_FUSE_AMTIME_INODES, so a second session
  // sees it only if this one reported it.
  {
    await c.writeFile('/d1/times.txt', 'v1');
    const m0 = (await c.stat('/d1/times.txt')).mtimeMs;
    await new Promise((r) => setTimeout(r, 2100));
    const ht = await c.open('/d1/times.txt', 'r+');
    await ht.write(Buffer.from('v2'), 0, 2, 0);
    await ht.close();
    const other = await MfsClient.connect({ host, port, password, ioRetries: 2 });
    let m1 = m0;
    for (let i = 0; i < 40 && m1 <= m0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m1 = (await other.stat('/d1/times.txt')).mtimeMs;
    }
    await other.close();
    assert.ok(m1 >= m0 + 2000, `mtime ${m0} -> ${m1}`);
    await c.unlink('/d1/times.txt');
    step('mtime');
  }

  // Streams.
  const streamed = randomBytes(3 * 1024 * 1024 + 99);
  await pipeline(Readable.from([streamed.subarray(0, 1_000_000), streamed.subarray(1_000_000)]), c.createWriteStream('/d1/stream.bin'));
  const parts: Buffer[] = [];
  await pipeline(c.createReadStream('/d1/stream.bin'), async function* (src: AsyncIterable<Buffer>) {
    for await (const b of src) parts.push(b);
  });
  assert.equal(sha(Buffer.concat(parts)), sha(streamed));
  const ranged: Buffer[] = [];
  for await (const b of c.createReadStream('/d1/stream.bin', { start: 10, end: 19 })) ranged.push(b as Buffer);
  assert.ok(Buffer.concat(ranged).equals(streamed.subarray(10, 20)));
  await c.unlink('/d1/stream.bin');
  step('streams');

  const sf = await c.statfs();
  assert.ok(sf.totalspace > 0n);
  step('statfs');

  // A directory bigger than any one page: a 3.0.117 master answers READDIR with the request's
  // nedgeid, so a client that pages by it loses entries (seen: 9,998 of 10,000 listed).
  {
    const N = 10_050;
    await c.mkdir('/bigdir');
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < N; i = next++) await c.writeFile(`/bigdir/f${i}`, '');
      }),
    );
    const names = await c.readdir('/bigdir');
    const want = new Set(Array.from({ length: N }, (_, i) => `f${i}`));
    const got = new Set(names);
    assert.equal(got.size, names.length, 'no name listed twice');
    assert.deepEqual([...want].filter((n) => !got.has(n)), [], 'every file listed');
    assert.equal(names.filter((n) => !want.has(n)).length, 0, `only our files: ${names.filter((n) => !want.has(n)).slice(0, 5).join(',')}`);
    step('big directory');
  }
} finally {
  await c.close();
}
step('closed');
