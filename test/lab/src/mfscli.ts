// Reading `mfscli -p -n -s '|'` output. In plain mode every row starts with its table's title
// ("chunk servers:", "metadata backup loggers:"...) followed by the fields, separated by '|'.

export const SEP = '|';

/** Splits plain-mode output into rows of fields, dropping blank lines. */
export function parseRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .map((l) => l.split(SEP).map((f) => f.trim()));
}

export interface ChunkserverRow {
  ip: string;
  port: number;
  csid: number;
  version: string;
  chunks: number;
  /** Bytes. */
  used: number;
  /** Bytes; 0 until the chunkserver has scanned its disks and reported space. */
  total: number;
  /** The whole row, for tests that want more. */
  fields: string[];
}

function isIp(s: string | undefined): s is string {
  return s !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(s);
}

/**
 * Connected chunkservers from `-SCS`. Plain-mode rows of a 3.0.117 master (mfscli.py, the
 * non-tty branch of the chunk server table): "chunk servers:", ip, port, csid, labels, version, load,
 * maintenance, chunks, used, total, marked-for-removal status, tdchunks, tdused, tdtotal.
 * "Disconnected chunk servers:" rows are not included.
 */
export function parseChunkservers(stdout: string): ChunkserverRow[] {
  const out: ChunkserverRow[] = [];
  for (const f of parseRows(stdout)) {
    if (f[0] !== 'chunk servers:' || !isIp(f[1]) || f.length < 11) continue;
    out.push({
      ip: f[1],
      port: Number(f[2]),
      csid: Number(f[3]),
      version: f[5]!,
      chunks: Number(f[8]),
      used: Number(f[9]),
      total: Number(f[10]),
      fields: f,
    });
  }
  return out;
}

/** IPv4 addresses that appear as a field of any row (for -SMB, -SMS). */
export function ipsInRows(stdout: string): string[] {
  const out: string[] = [];
  for (const f of parseRows(stdout)) for (const x of f) if (isIp(x)) out.push(x);
  return out;
}
