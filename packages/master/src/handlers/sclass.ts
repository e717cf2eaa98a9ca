import {
  CLTOMA_SCLASS_CHANGE,
  CLTOMA_SCLASS_CREATE,
  CLTOMA_SCLASS_DELETE,
  CLTOMA_SCLASS_DUPLICATE,
  CLTOMA_SCLASS_LIST,
  CLTOMA_SCLASS_RENAME,
  CltomaSclassChange,
  CltomaSclassCreate,
  CltomaSclassDelete,
  CltomaSclassDuplicate,
  CltomaSclassList,
  CltomaSclassRename,
  MatoclSclassChange,
  MatoclSclassCreate,
  MatoclSclassDelete,
  MatoclSclassDuplicate,
  MatoclSclassList,
  MatoclSclassRename,
  MFS_ERROR_EPERM_NOTADMIN,
  SCLASS_LIST_LONG,
  SCLASS_LIST_SHORT,
  SESFLAG_ADMIN,
  Writer,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import type { StorageClass } from '../fs/sclass.js';

// Storage class administration (mfsscadmin create/modify/delete/copy/rename/list) through a mount's
// proxy: matoclserv_sclass_* in mfsmaster/matoclserv.c. Changes need an admin session.

const isAdmin = (c: ClConn) => (c.session!.sesflags & SESFLAG_ADMIN) !== 0;
type Labels = StorageClass['labels'];
const labelsOf = (l: number[][][]): Labels => [l[0] ?? [], l[1] ?? [], l[2] ?? []];

function create(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassCreate, p);
  if (!v) return;
  const status = isAdmin(c)
    ? c.ctx.ns.sclassCreate({ name: v.name, adminOnly: v.adminOnly, mode: v.mode, archDelay: v.archDelay, labels: labelsOf(v.labels) })
    : MFS_ERROR_EPERM_NOTADMIN;
  c.sendMsg(MatoclSclassCreate, { msgid: v.msgid, status });
}

/** chgmask 0 = show (anyone); otherwise admin only. Replies with the class as it now is. */
function change(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassChange, p);
  if (!v) return;
  if (v.chgmask !== 0 && !isAdmin(c)) return c.sendMsg(MatoclSclassChange, { $v: 'status', msgid: v.msgid, status: MFS_ERROR_EPERM_NOTADMIN });
  const r = c.ctx.ns.sclassChange(v.name, v.chgmask, { adminOnly: v.adminOnly, mode: v.mode, archDelay: v.archDelay, labels: labelsOf(v.labels) });
  if (!r.ok) return c.sendMsg(MatoclSclassChange, { $v: 'status', msgid: v.msgid, status: r.status });
  const s = r.value;
  if (v.chgmask !== 0) c.ctx.chunkGoalsChanged();
  c.sendMsg(MatoclSclassChange, { $v: 'ok', msgid: v.msgid, fver: 0, adminOnly: s.adminOnly, mode: s.mode, archDelay: s.archDelay, labels: s.labels });
}

function del(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassDelete, p);
  if (!v) return;
  c.sendMsg(MatoclSclassDelete, { msgid: v.msgid, status: isAdmin(c) ? c.ctx.ns.sclassDelete(v.name) : MFS_ERROR_EPERM_NOTADMIN });
}

function duplicate(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassDuplicate, p);
  if (!v) return;
  c.sendMsg(MatoclSclassDuplicate, { msgid: v.msgid, status: isAdmin(c) ? c.ctx.ns.sclassDuplicate(v.src, v.dst) : MFS_ERROR_EPERM_NOTADMIN });
}

function rename(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassRename, p);
  if (!v) return;
  c.sendMsg(MatoclSclassRename, { msgid: v.msgid, status: isAdmin(c) ? c.ctx.ns.sclassRename(v.src, v.dst) : MFS_ERROR_EPERM_NOTADMIN });
}

/** sclass_list_entries: names, or (longmode bit 0) names with their definitions. */
function list(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSclassList, p);
  if (!v) return;
  const all = c.ctx.ns.sclasses.entries().map(([, s]) => s);
  const w = new Writer(256);
  if (v.longmode & 1) SCLASS_LIST_LONG.write(w, all.map((s) => ({ name: s.name, adminOnly: s.adminOnly, mode: s.mode, archDelay: s.archDelay, labels: s.labels })));
  else SCLASS_LIST_SHORT.write(w, all.map((s) => s.name));
  c.sendMsg(MatoclSclassList, { msgid: v.msgid, data: Buffer.from(w.buf.subarray(0, w.pos)) });
}

export const sclassHandlers: HandlerGroup = {
  session: {
    [CLTOMA_SCLASS_CREATE]: create,
    [CLTOMA_SCLASS_CHANGE]: change,
    [CLTOMA_SCLASS_DELETE]: del,
    [CLTOMA_SCLASS_DUPLICATE]: duplicate,
    [CLTOMA_SCLASS_RENAME]: rename,
    [CLTOMA_SCLASS_LIST]: list,
  },
};
