import {
  CstomaChunkop,
  CstomaCreate,
  CstomaDelete,
  CstomaDuplicate,
  CstomaDuptrunc,
  CstomaReplicate,
  CstomaSetVersion,
  CstomaTruncate,
  MATOCS_CHUNKOP,
  MATOCS_CREATE,
  MATOCS_DELETE,
  MATOCS_DUPLICATE,
  MATOCS_DUPTRUNC,
  MATOCS_REPLICATE,
  MATOCS_SET_VERSION,
  MATOCS_TRUNCATE,
  MFS_ERROR_EINVAL,
  MFS_ERROR_IO,
  MatocsChunkop,
  MatocsCreate,
  MatocsDelete,
  MatocsDuplicate,
  MatocsDuptrunc,
  MatocsReplicate,
  MatocsSetVersion,
  MatocsTruncate,
  type MessageDef,
} from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';
import type { HddSpaceMgr } from './hddspacemgr/index.js';
import { chunkOp, createChunk, deleteChunk, duplicateChunk, setChunkVersion, truncateChunk } from './hddspacemgr/chunkops.js';
import { replicate } from './replicator.js';
import { CS_CREATE, CS_CSREPIN, CS_CSREPOUT, CS_DELETE, CS_DUPLICATE, CS_DUPTRUNC, CS_REPL, CS_TRUNCATE, CS_VERSION } from './charts.js';
import { packetName } from './names.js';

/** What the master command handlers need from the link. */
export interface CommandContext {
  hdd: HddSpaceMgr;
  log: Logger;
  /** Commands in progress (part of the load reported to the master). */
  jobs: number;
  /** Identifies the connection a command came on... */
  current(): number;
  /** ...so that its reply goes out only if that connection is still the one up. */
  isCurrent(conn: number): boolean;
  send(packet: Buffer): void;
  kill(reason: string, type?: number): void;
  /** Adds to a chart counter (hdd_op_stats / replicator_stats): 1 by default. */
  count?(stat: number, n?: number): void;
}

/** The chart counting each command (chartsdefs.h: create, delete, version, duplicate, truncate, duptrunc, repl). */
const OP_STAT: Record<number, number> = {
  [MATOCS_CREATE]: CS_CREATE,
  [MATOCS_DELETE]: CS_DELETE,
  [MATOCS_SET_VERSION]: CS_VERSION,
  [MATOCS_DUPLICATE]: CS_DUPLICATE,
  [MATOCS_TRUNCATE]: CS_TRUNCATE,
  [MATOCS_DUPTRUNC]: CS_DUPTRUNC,
  [MATOCS_REPLICATE]: CS_REPL,
};

const NOLENGTH = 0xffffffff;
const inval = (): Promise<number> => Promise.resolve(MFS_ERROR_EINVAL);

/** Runs a decoded command as a job; its reply (`chunkid status` or the echo) follows when it ends. */
function job<T>(ctx: CommandContext, type: number, def: MessageDef<T>, p: Buffer, run: (m: T) => Promise<number>, reply: (m: T, st: number) => Buffer): void {
  const r = def.decode(p);
  if (!r.ok) return ctx.kill(`${packetName(type)} - wrong size (${p.length})`, type);
  const cc = ctx.current();
  ctx.jobs++;
  void run(r.value)
    .catch((e) => {
      ctx.log.error({ err: e, msg_name: packetName(type) }, 'chunk operation failed');
      return MFS_ERROR_IO;
    })
    .then((st) => {
      ctx.jobs--;
      ctx.log.debug({ msg_name: packetName(type), cmd: r.value, status: st }, `${packetName(type)} done (status ${st})`);
      if (ctx.isCurrent(cc)) ctx.send(reply(r.value, st));
    });
}

/**
 * The master's chunk commands (masterconn.c masterconn_create ... masterconn_replicate and the
 * job_* macros of bgjobs.h): each is checked for size, executed on the disks, and answered with
 * CSTOMA_<same name>. Argument combinations MooseFS refuses (new version 0, no copy id, length
 * 0xFFFFFFFF where a length is needed) are answered with MFS_ERROR_EINVAL without touching a chunk.
 */
export function masterCommand(ctx: CommandContext, type: number, p: Buffer): void {
  const h = ctx.hdd;
  const st = OP_STAT[type];
  if (st !== undefined) ctx.count?.(st);
  switch (type) {
    case MATOCS_CREATE:
      return job(ctx, type, MatocsCreate, p, (m) => createChunk(h, m.chunkid, m.version), (m, st) => CstomaCreate.encode({ chunkid: m.chunkid, status: st }));
    case MATOCS_DELETE:
      return job(ctx, type, MatocsDelete, p, (m) => deleteChunk(h, m.chunkid, m.version), (m, st) => CstomaDelete.encode({ chunkid: m.chunkid, status: st }));
    case MATOCS_SET_VERSION:
      return job(
        ctx,
        type,
        MatocsSetVersion,
        p,
        (m) => (m.newversion > 0 ? setChunkVersion(h, m.chunkid, m.version, m.newversion) : inval()),
        (m, st) => CstomaSetVersion.encode({ chunkid: m.chunkid, status: st }),
      );
    case MATOCS_DUPLICATE:
      // The copy keeps the original's version as its "new" version (job_duplicate(..., version, version, ...)).
      return job(
        ctx,
        type,
        MatocsDuplicate,
        p,
        (m) => (m.version > 0 && m.copychunkid > 0 ? duplicateChunk(h, m.chunkid, m.version, m.version, m.copychunkid, m.copyversion) : inval()),
        (m, st) => CstomaDuplicate.encode({ chunkid: m.copychunkid, status: st }),
      );
    case MATOCS_TRUNCATE:
      return job(
        ctx,
        type,
        MatocsTruncate,
        p,
        (m) => (m.newversion > 0 && m.length !== NOLENGTH ? truncateChunk(h, m.chunkid, m.version, m.newversion, m.length) : inval()),
        (m, st) => CstomaTruncate.encode({ chunkid: m.chunkid, status: st }),
      );
    case MATOCS_DUPTRUNC:
      return job(
        ctx,
        type,
        MatocsDuptrunc,
        p,
        (m) => (m.version > 0 && m.copychunkid > 0 && m.length !== NOLENGTH ? duplicateChunk(h, m.chunkid, m.version, m.version, m.copychunkid, m.copyversion, m.length) : inval()),
        (m, st) => CstomaDuptrunc.encode({ chunkid: m.copychunkid, status: st }),
      );
    case MATOCS_CHUNKOP:
      return job(
        ctx,
        type,
        MatocsChunkop,
        p,
        (m) => chunkOp(h, m.chunkid, m.version, m.newversion, m.copychunkid, m.copyversion, m.length),
        (m, st) => CstomaChunkop.encode({ ...m, status: st }),
      );
    case MATOCS_REPLICATE:
      return replicateCommand(ctx, p);
  }
}

/**
 * MATOCS_REPLICATE: the simple form `chunkid version ip port`, or the multi-source form with XOR
 * masks (MooseFS Pro's erasure coding). Only a single source is supported; other forms get EINVAL.
 */
function replicateCommand(ctx: CommandContext, p: Buffer): void {
  if (!(p.length === 18 || (p.length >= 28 + 18 && p.length <= 28 + 8 * 18 && (p.length - 28) % 18 === 0))) {
    return ctx.kill(`MATOCS_REPLICATE - wrong size (${p.length}/18|28+n*18[n:1..8])`, MATOCS_REPLICATE);
  }
  const r = MatocsReplicate.decode(p);
  if (!r.ok) return ctx.kill(`MATOCS_REPLICATE - wrong size (${p.length})`, MATOCS_REPLICATE);
  const m = r.value;
  let src: { ip: number; port: number } | undefined;
  if (m.$v === 'simple') src = { ip: m.ip, port: m.port };
  else if (m.sources.length === 1 && m.sources[0]!.chunkid === m.chunkid && m.sources[0]!.version === m.version) src = m.sources[0]!;
  const cc = ctx.current();
  ctx.jobs++;
  const traffic = { in: (n: number) => ctx.count?.(CS_CSREPIN, n), out: (n: number) => ctx.count?.(CS_CSREPOUT, n) };
  const run = src ? replicate(ctx.hdd, ctx.log, m.chunkid, m.version, src.ip, src.port, traffic) : inval();
  void run
    .catch(() => MFS_ERROR_IO)
    .then((st) => {
      ctx.jobs--;
      ctx.log.debug({ msg_name: 'MATOCS_REPLICATE', chunk: m.chunkid, status: st }, `MATOCS_REPLICATE done (status ${st})`);
      if (ctx.isCurrent(cc)) ctx.send(CstomaReplicate.encode({ chunkid: m.chunkid, version: m.version, status: st }));
    });
}
