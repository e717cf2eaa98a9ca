// Preloaded into a daemon with NODE_OPTIONS="--import .../cpuprof-hook.mjs" (Node 20 refuses
// --cpu-prof there): profiles the whole process and writes CPUPROF_DIR/<pid>.cpuprofile at exit.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CPUPROF_DIR ?? '.';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  // Same-thread inspector sessions answer synchronously, so this completes before the exit.
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
  });
});
