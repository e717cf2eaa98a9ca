import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLab, type Lab, type Master } from '@mfs-ts/lab';
import { describeLab } from '@mfs-ts/lab/vitest';
import { masterArgs, runScenario, steps } from './helpers.js';

// The client (Node API, then mfsmount-ts) against a real mfsmaster and two real chunkservers, with a
// password-protected export so the register errors are MooseFS's own.

const PASSWORD = 'lab-secret';

describeLab('client against real MooseFS 3.0.117', () => {
  let lab: Lab;
  let master: Master;

  beforeAll(async () => {
    lab = await createLab({ hosts: 1 });
    try {
      master = await lab.startMaster({ exports: `*\t/\trw,alldirs,admin,maproot=0:0,password=${PASSWORD}\n*\t.\trw\n` });
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

  const scenario = async (name: string, extra: Record<string, unknown> = {}) => {
    try {
      return await runScenario(lab.host(0), name, { ...masterArgs(master), password: PASSWORD, ...extra });
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    }
  };

  it('Node API: register errors, files of several MiB and across a chunk, namespace ops', async () => {
    const r = await scenario('api-basic');
    expect(steps(r)).toEqual(expect.arrayContaining(['register errors', 'write/read 5 MiB', 'across chunk boundary', 'rename', 'symlink', 'truncate', 'unlink rmdir', 'closed']));
  });

  it('Node API: random writes/truncates/reads agree with an in-memory model', async () => {
    const r = await scenario('api-model', { runs: 8, commands: 60 });
    const line = steps(r).find((s) => s.startsWith('model '));
    expect(line).toBeDefined();
    const total = Number(/(\d+) commands/.exec(line!)![1]);
    expect(total).toBeGreaterThan(100);
  });
});
