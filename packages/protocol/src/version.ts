/**
 * MooseFS version words. On the wire a version is `maj:16 mid:8 min:8` read as one u32, where for
 * major > 1 the minor is stored doubled and an odd low bit marks the Pro edition (configure.ac VERSHEX,
 * VERSION2INT in the sources). 3.0.117 = 0x0300EA.
 */
export interface MfsVersion {
  major: number;
  mid: number;
  minor: number;
  pro: boolean;
}

export const VERSMAJ = 3;
export const VERSMID = 0;
export const VERSMIN = 117;
/** The string a 3.0.117-1 daemon sends in ANTOAN_VERSION (VERSSTR: PACKAGE_VERSION-release). */
export const VERSSTR = '3.0.117-1';

export function versionToInt(major: number, mid: number, minor: number, pro = false): number {
  const low = major > 1 ? minor * 2 + (pro ? 1 : 0) : minor;
  return ((major & 0xffff) * 0x10000 + (mid & 0xff) * 0x100 + (low & 0xff)) >>> 0;
}

/** 0x0300EA */
export const VERSHEX = versionToInt(VERSMAJ, VERSMID, VERSMIN);

export function parseVersionInt(v: number): MfsVersion {
  const major = v >>> 16;
  const mid = (v >>> 8) & 0xff;
  const low = v & 0xff;
  if (major > 1) return { major, mid, minor: low >>> 1, pro: (low & 1) === 1 };
  return { major, mid, minor: low, pro: false };
}

export function formatVersion(v: number | MfsVersion): string {
  const p = typeof v === 'number' ? parseVersionInt(v) : v;
  return `${p.major}.${p.mid}.${p.minor}${p.pro ? ' PRO' : ''}`;
}

/** "3.0.117-1": the daemons' version string (ANTOAN_VERSION, -v output). */
export function formatVersionString(v: number, release = '1'): string {
  return `${formatVersion(v)}-${release}`;
}

/**
 * Parses "3.0.117", "3.0.117-1" or "3.0.117 PRO" into a version word; undefined if malformed.
 * The release suffix ("-1") is not part of the word.
 */
export function parseVersionString(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.~+]+)?( PRO)?$/.exec(s.trim());
  if (!m) return undefined;
  const major = Number(m[1]);
  const mid = Number(m[2]);
  const minor = Number(m[3]);
  if (major > 0xffff || mid > 0xff || minor > (major > 1 ? 127 : 255)) return undefined;
  return versionToInt(major, mid, minor, m[4] !== undefined);
}

/** Compare two version words ignoring the Pro bit: <0, 0, >0. */
export function compareVersions(a: number, b: number): number {
  return (a | 1) - (b | 1);
}

/** True when version word `v` is at least maj.mid.min (the VERSION2INT comparisons in the C code). */
export function versionAtLeast(v: number, major: number, mid: number, minor: number): boolean {
  return v >= versionToInt(major, mid, minor);
}
