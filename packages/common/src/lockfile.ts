import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The MooseFS lock file `DATA_PATH/.NAME.lock` holding the daemon's pid (mfscommon/main.c). MooseFS
 * guards it with an fcntl lock, which Node cannot take; we treat the file as held when the pid in it
 * is alive and is one of ours or MooseFS's daemon of the same name (checked through /proc), so a
 * stale file left by a crash never blocks a start.
 */
export class LockFile {
  readonly path: string;

  constructor(
    dataPath: string,
    readonly appName: string,
    readonly binNames: string[] = [appName],
  ) {
    this.path = join(dataPath, `.${appName}.lock`);
  }

  /** The pid of the live owner, or 0. */
  owner(): number {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(this.path, 'utf8').trim(), 10);
    } catch {
      return 0;
    }
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return 0;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return 0;
    }
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!this.binNames.some((b) => cmd.includes(b))) return 0;
    } catch {
      return 0;
    }
    return pid;
  }

  /** Takes the lock for this process; returns the other owner's pid if it is held. */
  acquire(): number {
    const other = this.owner();
    if (other) return other;
    mkdirSync(join(this.path, '..'), { recursive: true });
    writeFileSync(this.path, `${process.pid}\n`);
    return 0;
  }
}
