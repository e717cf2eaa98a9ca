// Master restart and a dead master, seen from the Node API (run inside the lab host's namespace by
// ../client.test.ts). Coordination with the test through marker files in `dir`:
//   we write "phase1" -> the test restarts the master and writes "restarted"
//   we check the session survived (RECONNECT with the same id), write "phase2" -> the test stops the
//   master and writes "stopped" -> every call must now fail with EIO after mfsioretries, in bounded time.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MfsClient, MfsClientError } from '../../../src/index.js';

const { host, port, password, dir } = JSON.parse(process.argv[2]!) as { host: string; port: number; password: string; dir: string };
const step = (s: string) => process.stdout.write(`ok ${s}\n`);
const waitFile = async (name: string) => {
  const deadline = Date.now() + 90_000;
  while (!existsSync(join(dir, name))) {
    if (Date.now() > deadline) throw new Error(`no ${name} from the test`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const c = await MfsClient.connect({ host, port, password, ioRetries: 4 });
c.core.master.on('connected', (re) => process.stderr.write(`master link up (reconnect=${re}) session ${c.sessionId}\n`));
c.core.master.on('disconnected', (why) => process.stderr.write(`master link down: ${why}\n`));
try {
  const sid = c.sessionId;
  await c.writeFile('/restart.txt', 'before restart');
  writeFileSync(join(dir, 'phase1'), String(sid));
  await waitFile('restarted');
  // The first call after the restart waits for the link to come back (reconnect every 2 s; retries
  // 1 ms, 301 ms, 601 ms, 901 ms apart), so give it more tries than the default above.
  let text = '';
  for (let i = 0; i < 5 && text === ''; i++) {
    text = await c
      .readFile('/restart.txt')
      .then((b) => b.toString())
      .catch((e: Error) => {
        process.stderr.write(`read after restart, try ${i}: ${e.message}\n`);
        return '';
      });
  }
  assert.equal(text, 'before restart');
  assert.equal(c.sessionId, sid, 'same session after the master restart');
  // A restarted master may refuse new chunks (NOSPACE/NOCHUNKSERVERS) until its chunkservers have
  // settled; with ioRetries 4 one writeFile rides ~2 s of that, so allow a few.
  for (let i = 0; ; i++) {
    try {
      await c.writeFile('/restart2.txt', 'after restart');
      break;
    } catch (e) {
      process.stderr.write(`write after restart, try ${i}: ${(e as Error).message}\n`);
      if (i >= 4 || !MfsClientError.is(e) || e.code !== 'ENOSPC') throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  assert.equal((await c.readFile('/restart2.txt')).toString(), 'after restart');
  step(`reconnected session ${sid}`);

  writeFileSync(join(dir, 'phase2'), '');
  await waitFile('stopped');
  const t0 = Date.now();
  try {
    await c.stat('/restart.txt');
    assert.fail('stat succeeded with the master down');
  } catch (e) {
    assert.ok(MfsClientError.is(e), String(e));
    assert.equal(e.code, 'EIO', e.message);
  }
  const took = Date.now() - t0;
  assert.ok(took < 10_000, `EIO took ${took} ms`);
  step(`dead master EIO after ${took} ms`);
} finally {
  await Promise.race([c.close(), new Promise((r) => setTimeout(r, 2000))]);
}
step('closed');
