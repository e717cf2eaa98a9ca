// Failover benchmark (root, network namespaces, keepalived): per standby mode, one cluster of the
// failover lab (test/interop/failover-harness.ts) and N failovers alternating direction (A -> B,
// B -> A, ...), alternating the fault (kill -9 the leader's master, cut the leader's link), under the
// workload of small numbered files (written, fsynced, closed; one every 50 ms). Prints, per mode and
// fault, min/median/max of fault -> VIP on the standby, -> its master answering, -> the workload's
// next acknowledged file, and the acknowledged files lost (checked after every failover).
//
//   npm run -w bench bench:failover -- [--cycles 10] [--modes hot,metalogger] [--mount ts|real] [--sync 1|0] [--advert 0.3]
import { parseArgs } from 'node:util';
import { createLab, labUnavailableReason, type Impl } from '@mfs-ts/lab';
import { buildFailoverLab, failover, fmt, standbyAgain, verifyAll, Workload, type Fault, type Takeover } from '../../test/interop/failover-harness.js';
import type { StandbyMode } from '../../packages/failover/src/cluster.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'hot,metalogger' },
    mount: { type: 'string', default: 'ts' },
    sync: { type: 'string', default: '1' },
    faults: { type: 'string', default: 'kill,cut' },
    advert: { type: 'string', default: '0.3' },
  },
});
const cycles = Number(values.cycles);
const modes = values.modes!.split(',') as StandbyMode[];
const faults = values.faults!.split(',') as Fault[];

const stats = (xs: number[]): string => {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${s[0]} / ${Math.round(med)} / ${s[s.length - 1]} ms`;
};

interface ModeResult {
  mode: StandbyMode;
  runs: Takeover[];
  acked: number;
  lost: number;
  error?: string;
}

async function runMode(mode: StandbyMode): Promise<ModeResult> {
  const res: ModeResult = { mode, runs: [], acked: 0, lost: 0 };
  const lab = await createLab({ hosts: ['a', 'b', 'cs', 'client'], stop: 'kill' });
  try {
    const f = await buildFailoverLab(lab, {
      mode,
      mount: values.mount as Impl,
      chunkserver: 'real',
      masterCfg: mode === 'hot' ? { FOLLOWER_SYNC_ACK: Number(values.sync), FOLLOWER_SYNC_TIMEOUT_MS: 2000 } : {},
      advertInt: Number(values.advert),
      healthIntervalMs: 100,
    });
    const all = new Map<string, number>();
    for (let k = 0; k < cycles; k++) {
      const fault = faults[k % faults.length]!;
      const wl = new Workload(f.mnt, `c${k}`, 2, 100);
      wl.start();
      const t0 = Date.now();
      while (wl.acked.size < 10 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
      const t = await failover(f, fault, wl);
      res.runs.push(t);
      await standbyAgain(f);
      await wl.stop();
      for (const [n, i] of wl.acked) all.set(n, i);
      const bad = await verifyAll(f.mnt, all);
      res.lost = bad.length;
      console.log(`[${mode}] ${k + 1}/${cycles} ${fmt(t)}; ${all.size} acknowledged so far, ${bad.length} missing or wrong`);
    }
    res.acked = all.size;
  } catch (e) {
    res.error = (e as Error).message;
    console.error(`[${mode}] failed: ${res.error}`);
  } finally {
    await lab.teardown().catch((e: unknown) => console.error(`teardown: ${(e as Error).message}`));
  }
  return res;
}

const why = await labUnavailableReason();
if (why) {
  console.error(`bench:failover needs the lab: ${why}`);
  process.exit(1);
}
const results: ModeResult[] = [];
for (const m of modes) results.push(await runMode(m));
console.log(`\nfailover, ${cycles} cycles per mode, mount ${values.mount}, VRRP adverts every ${values.advert} s, faults ${faults.join('/')} alternating; min / median / max`);
for (const r of results) {
  for (const fault of [...faults, 'all'] as const) {
    const runs = r.runs.filter((t) => fault === 'all' || t.fault === fault);
    if (runs.length === 0) continue;
    console.log(
      `${r.mode.padEnd(10)} ${fault.padEnd(4)} n=${String(runs.length).padEnd(3)} VIP ${stats(runs.map((t) => t.vipMs)).padEnd(22)} master ${stats(runs.map((t) => t.answersMs)).padEnd(22)} client ${stats(runs.map((t) => t.clientMs))}`,
    );
  }
  console.log(`${r.mode.padEnd(10)} acknowledged files lost: ${r.lost} of ${r.acked}${r.mode === 'hot' ? ` (FOLLOWER_SYNC_ACK ${values.sync})` : ''}${r.error ? `; stopped early: ${r.error}` : ''}`);
}
