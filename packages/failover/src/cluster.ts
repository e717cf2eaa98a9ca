// The cluster description the kit is generated from (a JSON file), validated into a frozen value.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { FailoverError } from './errors.js';

export interface HostSpec {
  /** Short name (a-z0-9-), used in file names and keepalived's router_id. */
  readonly name: string;
  /** This host's own address on `interface` (not the VIP). The health probe asks the master here. */
  readonly address: string;
  /** VRRP priority (1..254). The primary gets the highest. */
  readonly priority: number;
  /** The host whose master starts the cluster (`start --bootstrap`). Exactly one. */
  readonly primary: boolean;
  readonly interface: string;
  readonly masterCfg: string;
  readonly masterDataPath: string;
  readonly metaloggerCfg: string;
  readonly metaloggerDataPath: string;
  /** Role and health files, the notify lock, the archive of set-aside metadata. */
  readonly stateDir: string;
  /** Where this host's generated files live (keepalived.conf, check.sh, notify.sh, cluster.json). */
  readonly kitDir: string;
}

export interface Bins {
  /** node (the kit's own commands run as `node --import tsx <repo>/packages/failover/src/cli.ts`). */
  readonly node: string;
  readonly master: string;
  readonly metalogger: string;
  readonly keepalived: string;
}

export interface Health {
  /** How often the watcher asks (ms). */
  readonly intervalMs: number;
  /** One probe's time limit (ms). */
  readonly timeoutMs: number;
  /** Consecutive timed-out probes before the master counts as down (a refused connection counts at once). */
  readonly failAfter: number;
  /** How long a host may be `promoting`/`bootstrap` (master not yet answering) and still count as healthy (ms). */
  readonly startGraceMs: number;
}

/**
 * How a standby keeps up: `hot` runs mfsmaster-ts as a hot follower of the leader (namespace in
 * memory, promoted in place); `metalogger` runs a metalogger and promotes with `mfsmaster -a` from
 * its files (the classic setup; works with real MooseFS masters and metaloggers).
 */
export type StandbyMode = 'hot' | 'metalogger';

export interface Cluster {
  readonly vip: string;
  readonly mode: StandbyMode;
  readonly prefixLength: number;
  readonly virtualRouterId: number;
  /** VRRP advertisement interval (s). */
  readonly advertInt: number;
  /** VRRP v2 PASS authentication (up to 8 characters), or undefined for none. */
  readonly authPass: string | undefined;
  readonly ports: { readonly ml: number; readonly cl: number };
  readonly bins: Bins;
  readonly health: Health;
  readonly hosts: readonly HostSpec[];
  /**
   * At promotion, append UNLOCK records for chunks whose write was open when the master died (so
   * the client's retry does not wait out the 120 s chunk lock). Default true.
   */
  readonly unlockOpenWrites: boolean;
  /** The repository root the generated scripts run the kit from. */
  readonly repoRoot: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

type Raw = Record<string, unknown>;

function obj(v: unknown, what: string): Raw {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FailoverError('FO_BAD_CLUSTER', `${what} must be an object`);
  return v as Raw;
}
function str(o: Raw, k: string, what: string, dflt?: string): string {
  const v = o[k] ?? dflt;
  if (typeof v !== 'string' || v === '') throw new FailoverError('FO_BAD_CLUSTER', `${what}.${k} must be a non-empty string`);
  return v;
}
function path(o: Raw, k: string, what: string, dflt?: string): string {
  const v = str(o, k, what, dflt);
  if (!isAbsolute(v)) throw new FailoverError('FO_BAD_CLUSTER', `${what}.${k} must be an absolute path (${v})`);
  return v;
}
function int(o: Raw, k: string, what: string, min: number, max: number, dflt?: number): number {
  const v = o[k] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new FailoverError('FO_BAD_CLUSTER', `${what}.${k} must be an integer in ${min}..${max}`);
  return v;
}
function ipv4(o: Raw, k: string, what: string): string {
  const v = str(o, k, what);
  if (!IPV4.test(v)) throw new FailoverError('FO_BAD_CLUSTER', `${what}.${k} must be an IPv4 address (${v})`);
  return v;
}

/** Validates a parsed cluster description; throws FO_BAD_CLUSTER naming the first bad field. */
export function parseCluster(input: unknown, repoRoot: string): Cluster {
  const o = obj(input, 'cluster');
  const iface = str(o, 'interface', 'cluster', 'eth0');
  const stateRoot = path(o, 'stateRoot', 'cluster', '/var/lib/mfsfailover');
  const kitRoot = path(o, 'kitRoot', 'cluster', '/etc/mfsfailover');
  const hostsIn = o.hosts;
  if (!Array.isArray(hostsIn) || hostsIn.length < 2) throw new FailoverError('FO_BAD_CLUSTER', 'cluster.hosts must list at least two hosts');
  const hosts = hostsIn.map((h, i): HostSpec => {
    const ho = obj(h, `hosts[${i}]`);
    const w = `hosts[${i}]`;
    const name = str(ho, 'name', w);
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new FailoverError('FO_BAD_CLUSTER', `${w}.name must be a-z0-9- (${name})`);
    const spec: HostSpec = {
      name,
      address: ipv4(ho, 'address', w),
      priority: int(ho, 'priority', w, 1, 254),
      primary: ho.primary === true,
      interface: str(ho, 'interface', w, iface),
      masterCfg: path(ho, 'masterCfg', w, '/etc/mfs/mfsmaster.cfg'),
      masterDataPath: path(ho, 'masterDataPath', w),
      metaloggerCfg: path(ho, 'metaloggerCfg', w, '/etc/mfs/mfsmetalogger.cfg'),
      metaloggerDataPath: path(ho, 'metaloggerDataPath', w),
      stateDir: path(ho, 'stateDir', w, `${stateRoot}/${name}`),
      kitDir: path(ho, 'kitDir', w, `${kitRoot}/${name}`),
    };
    // The promotion copies metalogger files into the master's directory and sets the old ones
    // aside: with one directory for both it could not tell them apart from what it must keep.
    if (spec.masterDataPath === spec.metaloggerDataPath) throw new FailoverError('FO_BAD_CLUSTER', `${w}: masterDataPath and metaloggerDataPath must differ`);
    return spec;
  });
  const names = new Set(hosts.map((h) => h.name));
  if (names.size !== hosts.length) throw new FailoverError('FO_BAD_CLUSTER', 'host names must be unique');
  const prios = new Set(hosts.map((h) => h.priority));
  if (prios.size !== hosts.length) throw new FailoverError('FO_BAD_CLUSTER', 'host priorities must differ (VRRP breaks ties by address; say which host you prefer)');
  const primaries = hosts.filter((h) => h.primary);
  if (primaries.length !== 1) throw new FailoverError('FO_BAD_CLUSTER', 'exactly one host must be "primary": true');
  if (Math.max(...hosts.map((h) => h.priority)) !== primaries[0]!.priority) throw new FailoverError('FO_BAD_CLUSTER', 'the primary must have the highest priority');
  const vip = ipv4(o, 'vip', 'cluster');
  if (hosts.some((h) => h.address === vip)) throw new FailoverError('FO_BAD_CLUSTER', 'the VIP must not be a host address');
  const authPass = o.authPass === undefined ? undefined : str(o, 'authPass', 'cluster');
  if (authPass !== undefined && (authPass.length > 8 || !/^[\x21-\x7e]+$/.test(authPass))) throw new FailoverError('FO_BAD_CLUSTER', 'cluster.authPass: 1..8 printable characters, no spaces');
  const b = obj(o.bins ?? {}, 'cluster.bins');
  const he = obj(o.health ?? {}, 'cluster.health');
  const po = obj(o.ports ?? {}, 'cluster.ports');
  const advertInt = o.advertInt ?? 1;
  if (typeof advertInt !== 'number' || !(advertInt >= 0.01 && advertInt <= 255)) throw new FailoverError('FO_BAD_CLUSTER', 'cluster.advertInt must be in 0.01..255 s');
  const mode = o.mode ?? 'metalogger';
  if (mode !== 'hot' && mode !== 'metalogger') throw new FailoverError('FO_BAD_CLUSTER', 'cluster.mode must be "hot" or "metalogger"');
  return Object.freeze({
    vip,
    mode,
    prefixLength: int(o, 'prefixLength', 'cluster', 1, 32, 24),
    virtualRouterId: int(o, 'virtualRouterId', 'cluster', 1, 255, 51),
    advertInt,
    authPass,
    ports: { ml: int(po, 'ml', 'cluster.ports', 1, 65535, 9419), cl: int(po, 'cl', 'cluster.ports', 1, 65535, 9421) },
    bins: {
      node: str(b, 'node', 'cluster.bins', 'node'),
      master: str(b, 'master', 'cluster.bins', 'mfsmaster-ts'),
      metalogger: str(b, 'metalogger', 'cluster.bins', 'mfsmetalogger-ts'),
      keepalived: str(b, 'keepalived', 'cluster.bins', 'keepalived'),
    },
    health: {
      intervalMs: int(he, 'intervalMs', 'cluster.health', 50, 60_000, 500),
      timeoutMs: int(he, 'timeoutMs', 'cluster.health', 50, 60_000, 1000),
      failAfter: int(he, 'failAfter', 'cluster.health', 1, 100, 2),
      startGraceMs: int(he, 'startGraceMs', 'cluster.health', 1000, 3_600_000, 60_000),
    },
    hosts,
    unlockOpenWrites: o.unlockOpenWrites !== false,
    repoRoot: str(o, 'repoRoot', 'cluster', repoRoot),
  });
}

export function loadCluster(file: string, repoRoot: string): Cluster {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FailoverError('FO_BAD_CLUSTER', `cannot read cluster description ${file}: ${(e as Error).message}`);
  }
  return parseCluster(raw, repoRoot);
}

export function hostOf(c: Cluster, name: string): HostSpec {
  const h = c.hosts.find((x) => x.name === name);
  if (!h) throw new FailoverError('FO_USAGE', `no host named ${name} in the cluster (${c.hosts.map((x) => x.name).join(', ')})`);
  return h;
}
