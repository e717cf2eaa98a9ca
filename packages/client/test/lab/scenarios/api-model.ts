// The data-integrity model (../model.ts) through the Node API against a real cluster (run inside the
// lab host's network namespace by ../integrity.test.ts). Prints "ok model N files M ops seed S".
import { MfsClient } from '../../../src/index.js';
import { runModel, type Handle } from '../model.js';

const { host, port, password, runs, ops, seed } = JSON.parse(process.argv[2]!) as {
  host: string;
  port: number;
  password?: string;
  runs: number;
  ops: number;
  seed: number;
};

process.stdout.write(`model seed ${seed}\n`);
const c = await MfsClient.connect({ host, port, ...(password ? { password } : {}), ioRetries: 5 });
try {
  await c.mkdir('/model-api', { recursive: true });
  const r = await runModel({
    target: {
      open: async (path, flags) => (await c.open(path, flags)) as Handle,
      statSize: async (path) => (await c.stat(path)).size,
      unlink: (path) => c.unlink(path),
    },
    dir: '/model-api',
    runs,
    ops,
    seed,
  });
  process.stdout.write(`ok model ${r.files} files ${r.ops} ops seed ${seed}\n`);
} finally {
  await c.close();
}
