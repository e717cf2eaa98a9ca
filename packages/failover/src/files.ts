// Metadata files on a host: setting old ones aside, and turning a metalogger's files into a master's.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a master leaves in DATA_PATH that describes the file system (mfsmaster/metadata.c, changelog.c). */
const MASTER_FILES = /^(metadata\.mfs.*|metadata_ml\.mfs.*|changelog(_ml|_ml_back)?\.\d+\.mfs|sessions\.mfs.*|metadata\.tmp|changelog_ml\.tmp|metadata_ml\.tmp)$/;
/** What a metalogger writes (mfsmetalogger/masterconn.c). */
const METALOGGER_FILES = /^(metadata_ml\.mfs\.back.*|changelog_ml(_back)?\.\d+\.mfs|metadata_ml\.tmp|changelog_ml\.tmp|sessions_ml\.mfs.*)$/;

export const METADATA_ML = 'metadata_ml.mfs.back';

/**
 * Moves the metadata files of `dir` (master's or metalogger's, by `kind`) into `archiveDir`, so that
 * nothing can ever start on them again by mistake. Returns the names moved. Logs, cfg and lock
 * files stay.
 */
export function setAside(dir: string, kind: 'master' | 'metalogger', archiveDir: string): string[] {
  if (!existsSync(dir)) return [];
  const re = kind === 'master' ? MASTER_FILES : METALOGGER_FILES;
  const names = readdirSync(dir).filter((n) => re.test(n));
  if (names.length === 0) return [];
  mkdirSync(archiveDir, { recursive: true });
  for (const n of names) renameSync(join(dir, n), join(archiveDir, n));
  return names;
}

/** `MFSM x.y` header check of a metadata file (masterconn_metadata_check's first test). */
export function looksLikeMetadata(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(8);
    return readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1', 0, 5) === 'MFSM ' && b.toString('latin1') !== 'MFSM NEW';
  } finally {
    closeSync(fd);
  }
}

/** Changelog files of a metalogger's DATA_PATH: changelog_ml_back.N.mfs and changelog_ml.N.mfs. */
export function metaloggerChangelogs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^changelog_ml(_back)?\.\d+\.mfs$/.test(n))
    .map((n) => join(dir, n));
}

export interface Assembled {
  metadata: string;
  changelog: string;
  records: number;
  firstVersion: bigint | undefined;
  lastVersion: bigint | undefined;
  /** Versions missing between the first and the last record (each a [from, to] range). */
  holes: Array<[bigint, bigint]>;
  /** Chunks left locked by a write open at the crash, for which an UNLOCK record was appended. */
  unlocked: number[];
}

/**
 * Builds a master DATA_PATH from a metalogger's: metadata_ml.mfs.back -> metadata.mfs.back, and every
 * changelog record of changelog_ml_back.*.mfs and changelog_ml.*.mfs, one line per version (the files
 * overlap), in version order -> changelog.0.mfs; with `unlockOpenWrites`, UNLOCK records for chunks
 * whose write was still open. mfsmaster-ts -a reads exactly those names
 * (metadata.mfs or metadata.mfs.back, changelog.N.mfs); the real mfsmaster -a would also take the
 * metalogger's names as they are. A last line without its newline (torn) and lines without a `version: ` prefix are dropped.
 */
export function assembleMasterFiles(mlDir: string, masterDir: string, opts: { unlockOpenWrites?: boolean; now?: number } = {}): Assembled {
  mkdirSync(masterDir, { recursive: true });
  const metadata = join(masterDir, 'metadata.mfs.back');
  copyFileSync(join(mlDir, METADATA_ML), metadata);
  const byVersion = new Map<bigint, string>();
  for (const f of metaloggerChangelogs(mlDir)) {
    const lines = readFileSync(f, 'latin1').split('\n');
    lines.pop(); // after the last newline: empty, or a line the metalogger did not finish
    for (const line of lines) {
      const m = /^(\d+): /.exec(line);
      if (!m) continue;
      const v = BigInt(m[1]!);
      if (!byVersion.has(v)) byVersion.set(v, line);
    }
  }
  const versions = [...byVersion.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const holes: Array<[bigint, bigint]> = [];
  for (let i = 1; i < versions.length; i++) if (versions[i]! !== versions[i - 1]! + 1n) holes.push([versions[i - 1]! + 1n, versions[i]! - 1n]);
  const lines = versions.map((v) => byVersion.get(v)!);
  // Chunks a WRITE or TRUNC locked (the result after ':' is the chunk id; chunks.c keeps the lock
  // LOCKTIMEOUT = 120 s from the record's time) with no UNLOCK after it: the write was open when the
  // master died. Its session does not survive the failover, so nobody can finish it, and the
  // client's retry would wait out the lock. Unlocking them now is what the lock's expiry would do,
  // only without the two-minute wait.
  const unlocked: number[] = [];
  if (opts.unlockOpenWrites && versions.length > 0) {
    const locked = new Set<number>();
    for (const line of lines) {
      const w = /^\d+: \d+\|(?:WRITE|TRUNC)\(.*\):(\d+)$/.exec(line);
      if (w) locked.add(Number(w[1]));
      const u = /^\d+: \d+\|UNLOCK\((\d+)\)$/.exec(line);
      if (u) locked.delete(Number(u[1]));
    }
    let v = versions[versions.length - 1]!;
    const ts = Math.floor((opts.now ?? Date.now()) / 1000);
    for (const id of locked) {
      v++;
      lines.push(`${v}: ${ts}|UNLOCK(${id})`);
      unlocked.push(id);
    }
  }
  const changelog = join(masterDir, 'changelog.0.mfs');
  writeFileSync(changelog, lines.length ? `${lines.join('\n')}\n` : '', { encoding: 'latin1' });
  return { metadata, changelog, records: versions.length, firstVersion: versions[0], lastVersion: versions[versions.length - 1], holes, unlocked };
}
