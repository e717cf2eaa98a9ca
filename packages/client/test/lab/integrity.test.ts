import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLab, type Lab, type Master } from '@mfs-ts/lab';
import { describeLab } from '@mfs-ts/lab/vitest';
import { masterArgs, runScenario, steps } from './helpers.js';
import { modelSeed, runModel, type Handle } from './model.js';

// The data-integrity model test (./model.ts) at full size, against a real mfsmaster and two real
// chunkservers: 10,000 random operations through the Node API, and 10,000 through an mfsmount-ts
// mount with node:fs. Seeded: the seed is printed, and MFS_MODEL_SEED=<seed> replays a run.

const RUNS = 20;
const OPS = 500;

describeLab('client data integrity (model test) against real MooseFS 3.0.117', () => {
  let lab: Lab;
  let master: Master;

  beforeAll(async () => {
    lab = await createLab({ hosts: 1 });
    try {
      master = await lab.startMaster();
      await lab.startChunkserver({ master });
      await lab.startChunkserver({ master });
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    }
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  it('Node API: 10,000 random writes/truncates/reads around the 64 MiB boundary agree with the model', async () => {
    const seed = modelSeed();
    console.log(`client model test (Node API): seed ${seed}`);
    try {
      const r = await runScenario(lab.host(0), 'api-model', { ...masterArgs(master), runs: RUNS, ops: OPS, seed }, 170_000);
      const line = steps(r).find((s) => s.startsWith('model '));
      expect(line).toBeDefined();
      expect(Number(/(\d+) ops/.exec(line!)![1])).toBe(RUNS * OPS);
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    }
  }, 180_000);

  it('mfsmount-ts (node:fs): 10,000 random writes/truncates/reads around the 64 MiB boundary agree with the model', async () => {
    const seed = modelSeed();
    console.log(`client model test (FUSE): seed ${seed}`);
    const ts = await lab.mount({ master, impl: 'ts', options: ['mfsioretries=5'] });
    try {
      const dir = ts.path('model-fuse');
      await mkdir(dir);
      const r = await runModel({
        target: {
          open: async (path, flags) => (await open(path, flags)) as unknown as Handle,
          statSize: async (path) => (await stat(path)).size,
          unlink: (path) => unlink(path),
        },
        dir,
        runs: RUNS,
        ops: OPS,
        seed,
      });
      expect(r.ops).toBe(RUNS * OPS);
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    } finally {
      await ts.unmount();
    }
  }, 180_000);
});
