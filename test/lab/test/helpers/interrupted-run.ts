// A test run that gets interrupted: builds a lab with a master and a mount, prints its id and pids,
// then waits to be killed. Used by real-cluster.test.ts to check the signal-time cleanup.
import { createLab } from '@mfs-ts/lab';

const lab = await createLab({ hosts: ['m', 'c'] });
const master = await lab.startMaster({ host: 'm' });
await lab.startChunkserver({ host: 'm', master });
const mnt = await lab.mount({ host: 'c', master });
process.stdout.write(`${JSON.stringify({ id: lab.id, dir: lab.dir, mount: mnt.dir, pids: lab.procs.map((p) => p.pid) })}\n`);
setInterval(() => {}, 1000);
