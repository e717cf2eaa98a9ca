import {
  CLTOMA_FUSE_QUOTACONTROL,
  CltomaFuseQuotacontrol,
  MatoclFuseQuotacontrol,
  MFS_ERROR_EACCES,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';

// Directory quotas: mfssetquota / mfsgetquota / mfsdelquota through a mount's proxy
// (matoclserv_fuse_quotacontrol in mfsmaster/matoclserv.c).

const big = (n: number) => BigInt(n);
const num = (n: bigint) => Number(n);

/**
 * `msgid inode flags [[graceperiod] limits]`: the 9-byte form removes the flagged limits
 * (mfsdelquota), the long forms set them (mfssetquota) or, with flags 0, only read (mfsgetquota).
 * Changing anything needs an export whose root is not remapped (EACCES) and an admin session (EPERM).
 */
function quotacontrol(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseQuotacontrol, p);
  if (!v) return;
  const s = c.session!;
  if (v.flags !== 0 && s.rootuid !== 0) return c.sendMsg(MatoclFuseQuotacontrol, { $v: 'status', msgid: v.msgid, status: MFS_ERROR_EACCES });
  const set =
    v.$v === 'get'
      ? { flags: v.flags }
      : {
          flags: v.flags, graceperiod: v.$v === 'full' ? v.graceperiod : 0,
          sinodes: v.sinodes, hinodes: v.hinodes, slength: num(v.slength), hlength: num(v.hlength),
          ssize: num(v.ssize), hsize: num(v.hsize), srealsize: num(v.srealsize), hrealsize: num(v.hrealsize),
        };
  const r = c.ctx.ns.quotacontrol(c.fsctx(0, [0]), v.inode, v.$v === 'get', set);
  if (!r.ok) return c.sendMsg(MatoclFuseQuotacontrol, { $v: 'status', msgid: v.msgid, status: r.status });
  const q = r.value;
  c.sendMsg(MatoclFuseQuotacontrol, {
    $v: 'ok', msgid: v.msgid, flags: q.flags, graceperiod: q.graceperiod,
    sinodes: q.sinodes, slength: big(q.slength), ssize: big(q.ssize), srealsize: big(q.srealsize),
    hinodes: q.hinodes, hlength: big(q.hlength), hsize: big(q.hsize), hrealsize: big(q.hrealsize),
    curinodes: q.curinodes, curlength: big(q.curlength), cursize: big(q.cursize), currealsize: big(q.currealsize),
  });
}

export const quotaHandlers: HandlerGroup = {
  session: { [CLTOMA_FUSE_QUOTACONTROL]: quotacontrol },
};
