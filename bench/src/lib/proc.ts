// What a daemon costs, read from /proc: CPU seconds and resident memory (with its children).
import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

/** VmRSS of a process and its descendants, in bytes. */
export function rssTree(pid: number): number {
  let kb = 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const k of kids.split(/\s+/).filter(Boolean)) kb += rssTree(Number(k)) / 1024;
  }
  return kb * 1024;
}
