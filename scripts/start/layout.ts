import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseCfgText } from '@mfs-ts/common';

/**
 * Where the local cluster of `npm start` lives: BASE/var/etc (MooseFS-style cfg files, written on the
 * first run and then only read, so a user's edits stay), BASE/var/lib (DATA_PATH of each daemon),
 * BASE/var/log, and the mount point BASE/mnt. Everything listens on 127.0.0.1.
 */
export const HOST = '127.0.0.1';

/** The five TCP ports, in MooseFS's default order 9419..9423. */
export interface Ports {
  /** MATOML_LISTEN_PORT: metaloggers. */
  ml: number;
  /** MATOCS_LISTEN_PORT: chunkservers. */
  cs: number;
  /** MATOCL_LISTEN_PORT: clients, mfscli, mfsmount. */
  cl: number;
  /** CSSERV_LISTEN_PORT of chunkserver 1 and 2. */
  cs1: number;
  cs2: number;
}
export const PORT_KEYS = ['ml', 'cs', 'cl', 'cs1', 'cs2'] as const;
export const PORT_NAMES: Record<keyof Ports, string> = {
  ml: 'master, metalogger port (MATOML_LISTEN_PORT)',
  cs: 'master, chunkserver port (MATOCS_LISTEN_PORT)',
  cl: 'master, client port (MATOCL_LISTEN_PORT)',
  cs1: 'chunkserver 1 (CSSERV_LISTEN_PORT)',
  cs2: 'chunkserver 2 (CSSERV_LISTEN_PORT)',
};

export type Role = 'master' | 'metalogger' | 'cs1' | 'cs2';
export const ROLES: readonly Role[] = ['master', 'metalogger', 'cs1', 'cs2'];

export interface DaemonFiles {
  role: Role;
  /** MooseFS name (lock file .NAME.lock) and our executable. */
  appName: string;
  binName: string;
  /** packages/<pkg>/bin/<binName>.js */
  bin: string;
  cfg: string;
  dataPath: string;
  log: string;
}

export interface Layout {
  base: string;
  varDir: string;
  etc: string;
  lib: string;
  logDir: string;
  mnt: string;
  mountLog: string;
  exportsCfg: string;
  /** What the running launcher writes: ports, pids, mount (for scripts and tests). */
  stateFile: string;
  daemons: Record<Role, DaemonFiles>;
}

export function layout(base: string, repo: string): Layout {
  const varDir = join(base, 'var');
  const etc = join(varDir, 'etc');
  const lib = join(varDir, 'lib');
  const logDir = join(varDir, 'log');
  const d = (role: Role, appName: string, binName: string, pkg: string, cfgName: string, dataName: string): DaemonFiles => ({
    role,
    appName,
    binName,
    bin: join(repo, 'packages', pkg, 'bin', `${binName}.js`),
    cfg: join(etc, cfgName),
    dataPath: join(lib, dataName),
    log: join(logDir, `${dataName}.log`),
  });
  return {
    base,
    varDir,
    etc,
    lib,
    logDir,
    mnt: join(base, 'mnt'),
    mountLog: join(logDir, 'mfsmount.log'),
    exportsCfg: join(etc, 'mfsexports.cfg'),
    stateFile: join(varDir, 'cluster.json'),
    daemons: {
      master: d('master', 'mfsmaster', 'mfsmaster-ts', 'master', 'mfsmaster.cfg', 'mfsmaster'),
      metalogger: d('metalogger', 'mfsmetalogger', 'mfsmetalogger-ts', 'metalogger', 'mfsmetalogger.cfg', 'mfsmetalogger'),
      cs1: d('cs1', 'mfschunkserver', 'mfschunkserver-ts', 'chunkserver', 'mfschunkserver-1.cfg', 'mfschunkserver-1'),
      cs2: d('cs2', 'mfschunkserver', 'mfschunkserver-ts', 'chunkserver', 'mfschunkserver-2.cfg', 'mfschunkserver-2'),
    },
  };
}

export function hddCfg(l: Layout, role: 'cs1' | 'cs2'): string {
  return join(l.etc, role === 'cs1' ? 'mfshdd-1.cfg' : 'mfshdd-2.cfg');
}
export function hddDir(l: Layout, role: 'cs1' | 'cs2'): string {
  return join(l.daemons[role].dataPath, 'hdd');
}

/** True once the cfg files exist (a cluster made by an earlier run). */
export function isInitialised(l: Layout): boolean {
  return ROLES.every((r) => existsSync(l.daemons[r].cfg));
}

function header(file: string, what: string): string {
  return (
    `# ${file}: ${what} of the local mfs-ts cluster of \`npm start\`.\n` +
    `# MooseFS 3.0.117 syntax (KEY = VALUE, '#' starts a comment). Written by the first \`npm start\`,\n` +
    `# then only read: edit it and run \`npm start\` again. Keys not set here keep MooseFS's defaults.\n`
  );
}

const LOOPBACK_NOTE =
  '# mfs-ts only (a real MooseFS daemon does not know this key and ignores it with a warning).\n' +
  '# MooseFS refuses chunkserver <-> master links over 127.x; this one-machine cluster runs\n' +
  '# everything on 127.0.0.1, so it turns that check off. Default 0 (refuse, as MooseFS).\n';

/** Writes the cfg files, the hdd lists, the empty metadata and the directories of a new cluster. */
export function writeConfigs(l: Layout, p: Ports): void {
  for (const dir of [l.etc, l.logDir, l.mnt]) mkdirSync(dir, { recursive: true });
  for (const r of ROLES) mkdirSync(l.daemons[r].dataPath, { recursive: true });
  const u = userInfo();
  const who = `WORKING_USER = ${u.username}\nWORKING_GROUP = ${u.gid === 0 ? 'root' : String(u.gid)}\n`;
  const m = l.daemons.master;
  writeFileSync(
    m.cfg,
    header('mfsmaster.cfg', 'the master') +
      who +
      `DATA_PATH = ${m.dataPath}\nEXPORTS_FILENAME = ${l.exportsCfg}\n` +
      `MATOML_LISTEN_HOST = ${HOST}\nMATOML_LISTEN_PORT = ${p.ml}\n` +
      `MATOCS_LISTEN_HOST = ${HOST}\nMATOCS_LISTEN_PORT = ${p.cs}\n` +
      `MATOCL_LISTEN_HOST = ${HOST}\nMATOCL_LISTEN_PORT = ${p.cl}\n` +
      `# Chunkservers wait this long after a master start before replicating (MooseFS default 60 s).\nREPLICATIONS_DELAY_INIT = 10\n` +
      `\n${LOOPBACK_NOTE}ALLOW_LOOPBACK_CHUNKSERVERS = 1\n`,
  );
  writeFileSync(
    l.exportsCfg,
    `# mfsexports.cfg: who may mount what (ADDRESS DIRECTORY OPTIONS, see mfsexports.cfg(5)).\n` +
      `# Only this machine: the whole tree read-write with admin rights (mfscli actions), root kept as root.\n` +
      `${HOST}\t/\trw,alldirs,admin,maproot=0:0\n` +
      `# The meta file system (trash, sustained files): mfsmount -o mfsmeta.\n` +
      `${HOST}\t.\trw\n`,
  );
  // An empty file system for a new master: the 8-byte "MFSM NEW" header (as Debian's metadata.mfs.empty).
  const meta = join(m.dataPath, 'metadata.mfs');
  if (!existsSync(meta) && !existsSync(join(m.dataPath, 'metadata.mfs.back'))) writeFileSync(meta, 'MFSM NEW');
  const ml = l.daemons.metalogger;
  writeFileSync(
    ml.cfg,
    header('mfsmetalogger.cfg', 'the metalogger (a live copy of the metadata)') +
      who +
      `DATA_PATH = ${ml.dataPath}\nMASTER_HOST = ${HOST}\nMASTER_PORT = ${p.ml}\n`,
  );
  for (const [role, port, n] of [['cs1', p.cs1, 1], ['cs2', p.cs2, 2]] as const) {
    const c = l.daemons[role];
    mkdirSync(hddDir(l, role), { recursive: true });
    writeFileSync(hddCfg(l, role), `# mfshdd-${n}.cfg: the chunk directories of chunkserver ${n}, one a line (see mfshdd.cfg(5)).\n${hddDir(l, role)}\n`);
    writeFileSync(
      c.cfg,
      header(`mfschunkserver-${n}.cfg`, `chunkserver ${n} of 2 (files are kept at goal 2: one copy on each)`) +
        who +
        `DATA_PATH = ${c.dataPath}\nHDD_CONF_FILENAME = ${hddCfg(l, role)}\n` +
        `# Space left free on the disk (both chunkservers share it; MooseFS default 256MiB).\nHDD_LEAVE_SPACE_DEFAULT = 256MiB\n` +
        `MASTER_HOST = ${HOST}\nMASTER_PORT = ${p.cs}\nBIND_HOST = ${HOST}\n` +
        `CSSERV_LISTEN_HOST = ${HOST}\nCSSERV_LISTEN_PORT = ${port}\n` +
        `\n${LOOPBACK_NOTE}ALLOW_LOOPBACK_MASTER = 1\n`,
    );
  }
}

function cfgValues(file: string): Map<string, string> {
  return parseCfgText(readFileSync(file, 'utf8'), file).values;
}

/** The ports the cfg files name now (the user may have edited them). */
export function readPorts(l: Layout): Ports {
  const m = cfgValues(l.daemons.master.cfg);
  const num = (v: string | undefined, def: number): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : def);
  return {
    ml: num(m.get('MATOML_LISTEN_PORT'), 9419),
    cs: num(m.get('MATOCS_LISTEN_PORT'), 9420),
    cl: num(m.get('MATOCL_LISTEN_PORT'), 9421),
    cs1: num(cfgValues(l.daemons.cs1.cfg).get('CSSERV_LISTEN_PORT'), 9422),
    cs2: num(cfgValues(l.daemons.cs2.cfg).get('CSSERV_LISTEN_PORT'), 9422),
  };
}

/** DATA_PATH as the cfg file says it (a user may have moved it). */
export function readDataPath(d: DaemonFiles): string {
  return cfgValues(d.cfg).get('DATA_PATH') ?? '/var/lib/mfs';
}
