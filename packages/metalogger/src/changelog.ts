import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** `changelog_ml.N.mfs`, N = 0 for the file being written (mfsmetalogger/masterconn.c). */
export function changelogMlName(n: number): string {
  return `changelog_ml.${n}.mfs`;
}

const NL = 0x0a;

/**
 * The metalogger's own changelog: the records the master streams, one line each, in the format of the
 * master's changelog.N.mfs (`<version>: <text>\n`, masterconn_metachanges_log). Lines are collected in
 * memory and written with one write() per flush; the owner flushes at the end of each batch of input
 * and before anything that closes or renames the file, so the file always holds whole lines in
 * arrival order.
 */
export class ChangelogMl {
  private fd: number | undefined;
  private buf = Buffer.allocUnsafe(64 * 1024);
  private len = 0;

  constructor(
    readonly dir: string,
    private readonly fileMode = 0o666,
  ) {}

  get path(): string {
    return join(this.dir, changelogMlName(0));
  }

  /** Bytes collected and not written yet. */
  get pending(): number {
    return this.len;
  }

  /**
   * Adds one record. `text` is the payload after the version; like the C `%s`, it ends at its first
   * NUL (the master always sends one at the end).
   */
  append(version: number, text: Buffer): void {
    let end = text.indexOf(0);
    if (end < 0) end = text.length;
    const head = `${version}: `;
    this.reserve(head.length + end + 1);
    this.len += this.buf.write(head, this.len, 'latin1');
    this.len += text.copy(this.buf, this.len, 0, end);
    this.buf[this.len++] = NL;
  }

  /**
   * Writes what is collected (opening changelog_ml.0.mfs for append on first use). On an I/O error the
   * collected lines are dropped (3.0.117 logs "lost MFS change" and goes on) and the file is closed,
   * to be opened again for the next record; the error is returned with the number of lines lost.
   */
  flush(): { error: Error; lost: number } | undefined {
    if (this.len === 0) return undefined;
    try {
      if (this.fd === undefined) this.fd = openSync(this.path, 'a', this.fileMode);
      let off = 0;
      while (off < this.len) off += writeSync(this.fd, this.buf, off, this.len - off);
      return undefined;
    } catch (e) {
      let lost = 0;
      for (let i = 0; i < this.len; i++) if (this.buf[i] === NL) lost++;
      this.closeFd();
      return { error: e as Error, lost };
    } finally {
      this.len = 0;
      if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(64 * 1024);
    }
  }

  /** Flushes and closes the file (it is reopened for append on the next record). */
  close(): { error: Error; lost: number } | undefined {
    const r = this.flush();
    this.closeFd();
    return r;
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // nothing left to save
    }
  }

  /**
   * The master rotated its log (the 0x55 record): close ours and shift changelog_ml.(i-1) to
   * changelog_ml.i for i = backLogs..1, the oldest falling off; with backLogs 0, drop the file.
   */
  rotate(backLogs: number): { error: Error; lost: number } | undefined {
    const r = this.close();
    if (backLogs > 0) {
      for (let i = backLogs; i > 0; i--) renameQuiet(join(this.dir, changelogMlName(i - 1)), join(this.dir, changelogMlName(i)));
    } else unlinkQuiet(this.path);
    return r;
  }

  /** Changes were lost: drop changelog_ml.0..backLogs.mfs (the metalogger then starts over). */
  removeAll(backLogs: number): void {
    this.len = 0;
    this.closeFd();
    for (let i = 0; i <= backLogs; i++) unlinkQuiet(join(this.dir, changelogMlName(i)));
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
}

export function renameQuiet(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch {
    return false;
  }
}

export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
