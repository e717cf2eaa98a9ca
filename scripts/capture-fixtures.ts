// Captures real MooseFS 3.0.117 traffic in the lab and writes protocol-fixtures/: one file per sample
// packet (8-byte header + payload) and manifest.json. Run as root: `npm run capture-fixtures`.
// See protocol-fixtures/README.md for what comes out and how to read it.
//
// Steps: a fresh lab (master, metalogger, 3 chunkservers, a mount and a meta mount, each role on its
// own host so every link crosses the bridge); tcpdump on every host (`-i any`, so loopback traffic to
// the mount's tool proxy is caught too); a workload that touches every message a normal session uses;
// then the pcaps are read back, TCP streams reassembled by sequence number, framed with PacketFramer,
// and a few distinct samples of every (direction, message) kept.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chunkserver, createLab, readPcapTcp, reassemble, REPO_ROOT, waitFor, type Host, type Lab, type Master, type Mount, type Proc, type TcpConnection } from '@mfs-ts/lab';
// The framer and the id table straight from their files: they depend on nothing else in the protocol
// package, so a capture works even while other parts of it are being rewritten.
import { PacketFramer } from '../packages/protocol/src/framer.js';
import { MESSAGE_IDS } from '../packages/protocol/src/ids.js';

const OUT = join(REPO_ROOT, 'protocol-fixtures');
/** Samples kept per (link, name): this many lengths, or more when they differ in a variant byte. */
const MAX_SAMPLES = 4;
const MAX_VARIANTS = 8;
/** Payloads above this are never kept (64 KiB of data + the data header). */
const MAX_PAYLOAD = 65536 + 64;
/** At most one sample per name may be above this. */
const SMALL_PAYLOAD = 4096 + 64;

const log = (...a: unknown[]): void => console.log('[capture]', ...a);

// ---- the cluster ------------------------------------------------------------------------------------

interface Cluster {
  lab: Lab;
  master: Master;
  mount: Mount;
  meta: Mount;
  csHosts: Host[];
  captures: { host: Host; file: string; proc: Proc }[];
}

async function startCapture(lab: Lab, host: Host): Promise<{ host: Host; file: string; proc: Proc }> {
  const dir = join(lab.dir, 'pcap');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${host.name}.pcap`);
  return { host, file, proc: await host.capture(file) };
}

async function bringUp(): Promise<Cluster> {
  const lab = await createLab({ hosts: ['master', 'ml', 'cs1', 'cs2', 'cs3', 'client', 'master2', 'cs4'], keep: true });
  const captures = [];
  for (const h of lab.hosts) captures.push(await startCapture(lab, h));
  const master = await lab.startMaster({
    host: 'master',
    // Replicate at once instead of 60 s after start; scan chunks as often as allowed (60 s minimum).
    cfg: { REPLICATIONS_DELAY_INIT: 0, CHUNKS_LOOP_MIN_TIME: 60, CHUNKS_SOFT_DEL_LIMIT: 100, CHUNKS_HARD_DEL_LIMIT: 200 },
  });
  await lab.startMetalogger({ host: 'ml', master });
  const csHosts = [lab.host('cs1'), lab.host('cs2'), lab.host('cs3')];
  await lab.startChunkserver({ host: 'cs1', master });
  await lab.startChunkserver({ host: 'cs2', master });
  // DIRECT: every read goes to a chunkserver (no page cache), so reads are seen on the wire.
  const mount = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'] });
  const meta = await lab.mount({ host: 'client', master, meta: true });
  return { lab, master, mount, meta, csHosts, captures };
}

// ---- the workload -----------------------------------------------------------------------------------

/** Names the workload creates (for `expect.name`), and sizes it knows. */
const NAMES = ['dir1', 'sub', 'small.txt', 'renamed.txt', 'hard.txt', 'sym', 'fifo', 'chr', 'sock', 'four.bin', 'big.bin', 'snap', 'snap2', 'del.txt', 'trashme.txt', 'purge.txt', 'moved.txt', 'lock.txt', 'x.txt', 'app.bin', 'dmg.txt', 'lost.txt', 'user.color', 'user.size', 'user.nothere'];
const KNOWN_LENGTHS = new Set([13, 16, 100, 4096, 4100, 8192, 64 * 1024 * 1024 + 4096]);
const chunkIds = new Set<number>();

async function step(m: Mount, what: string, script: string, cwd?: string): Promise<string> {
  let r;
  try {
    r = await m.sh(script, { allowFail: true, timeoutMs: 120_000, cwd });
  } catch (e) {
    log(`FAIL ${what}: ${(e as Error).message.slice(-400)}`);
    return '';
  }
  const out = `${r.stdout}${r.stderr}`.trim();
  log(`${r.ok ? 'ok  ' : 'FAIL'} ${what}${r.ok ? '' : `: ${out.slice(-400)}`}`);
  if (process.env.CAPTURE_VERBOSE) log(out);
  for (const mm of out.matchAll(/chunk \d+: ([0-9A-F]{16})_[0-9A-F]{8}/g)) chunkIds.add(Number.parseInt(mm[1]!, 16));
  return out;
}

const py = (code: string): string => `python3 - <<'PY'\n${code}\nPY`;

async function workload(c: Cluster): Promise<void> {
  const { mount: m, meta, master, lab } = c;
  const M = m.dir;
  const D = `${M}/dir1`;
  await step(m, 'mkdir/create/write small', `mkdir ${D}; mkdir ${D}/sub; printf 'hello moosefs' > ${D}/small.txt; cat ${D}/small.txt >/dev/null`);
  // A 4 KiB write of its own: the data-packet samples come from here.
  await step(m, '4 KiB write', py(`
import os
fd = os.open('${D}/four.bin', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, bytes(i & 255 for i in range(4096)))
os.fsync(fd); os.close(fd)`));
  // Spanning two chunks, sparse: 4 KiB at 0 and 4 KiB at 64 MiB -> length 64 MiB + 4 KiB.
  await step(m, 'two-chunk file', py(`
import os
fd = os.open('${D}/big.bin', os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, b'A' * 4096, 0)
os.pwrite(fd, b'B' * 4096, 64 * 1024 * 1024)
os.fsync(fd); os.close(fd)`));
  await step(m, 'reads', `dd if=${D}/four.bin of=/dev/null bs=4096 count=1 iflag=direct status=none; dd if=${D}/big.bin of=/dev/null bs=4096 skip=16384 count=1 status=none; dd if=${D}/big.bin of=/dev/null bs=4096 count=1 status=none; cat ${D}/small.txt > /dev/null`);
  await step(m, 'stat/readdir', `stat ${D}/small.txt ${D}/big.bin > /dev/null; ls -la ${D} > /dev/null; ls ${M} >/dev/null; stat -f ${M} > /dev/null; df ${M} > /dev/null`);
  await step(m, 'rename/link/symlink/readlink', `mv ${D}/small.txt ${D}/renamed.txt; ln ${D}/renamed.txt ${D}/hard.txt; ln -s renamed.txt ${D}/sym; readlink ${D}/sym; ls -l ${D}/sym > /dev/null`);
  await step(m, 'chmod/chown/utimes', `chmod 640 ${D}/renamed.txt; chown 1000:1000 ${D}/renamed.txt; touch -d '2020-01-02 03:04:05' ${D}/renamed.txt; touch ${D}/renamed.txt`);
  await step(m, 'access', py(`import os; print(os.access('${D}/renamed.txt', os.W_OK), os.access('${D}', os.X_OK))`));
  await step(m, 'truncate', `printf '0123456789' >> ${D}/renamed.txt; truncate -s 100 ${D}/renamed.txt; truncate -s 5 ${D}/renamed.txt; : > ${D}/x.txt; truncate -s 0 ${D}/x.txt`);
  await step(m, 'xattrs', py(`
import os
p = '${D}/renamed.txt'
os.setxattr(p, 'user.color', b'blue')
os.setxattr(p, 'user.size', b'large')
print(os.getxattr(p, 'user.color'), os.listxattr(p))
os.removexattr(p, 'user.size')
try: os.getxattr(p, 'user.nothere')
except OSError as e: print('expected', e.errno)`));
  await step(m, 'acl', py(`
import os, struct
# posix_acl_xattr: version 2, then (tag:16 perm:16 id:32) little-endian entries, as setfacl writes it
ent = lambda tag, perm, id=0xffffffff: struct.pack('<HHI', tag, perm, id)
acl = struct.pack('<I', 2) + ent(1, 6) + ent(2, 4, 1000) + ent(4, 4) + ent(0x10, 4) + ent(0x20, 0)
p = '${D}/renamed.txt'
os.setxattr(p, 'system.posix_acl_access', acl)
print(len(os.getxattr(p, 'system.posix_acl_access')))
os.setxattr('${D}', 'system.posix_acl_default', acl)
print(len(os.getxattr('${D}', 'system.posix_acl_default')))`));
  await step(m, 'flock and posix locks', py(`
import fcntl, os, struct
fd = os.open('${D}/lock.txt', os.O_CREAT | os.O_RDWR, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX); fcntl.flock(fd, fcntl.LOCK_UN)
fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB); fcntl.flock(fd, fcntl.LOCK_UN)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 5, 20)
r = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 100, 0))
print(struct.unpack('hhqqi4x', r))
fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
os.close(fd)`));
  await step(m, 'mknod fifo/chr/socket', py(`
import os, socket, stat
os.mkfifo('${D}/fifo')
os.mknod('${D}/chr', stat.S_IFCHR | 0o600, os.makedev(1, 3))
s = socket.socket(socket.AF_UNIX); s.bind('${D}/sock'); s.close()
print(os.stat('${D}/chr').st_rdev)`));
  await step(m, 'fsync', py(`
import os
fd = os.open('${D}/renamed.txt', os.O_WRONLY | os.O_APPEND)
os.write(fd, b'more'); os.fsync(fd); os.fdatasync(fd); os.close(fd)`));
  await step(m, 'unlink/rmdir', `rm ${D}/hard.txt; rmdir ${D}/sub`);

  // Error replies (msgid + status), one per status the workload can provoke.
  await step(m, 'errors', [
    `ls ${D}/nothere`, `mkdir ${D}`, `rmdir ${D}`, `ln -s x ${D}/sym`, `mv ${D}/nothere ${D}/x`, `ln ${D} ${D}/dirlink`,
    `setpriv --reuid=1000 --regid=1000 --clear-groups touch ${M}/rootonly`, `setpriv --reuid=1000 --regid=1000 --clear-groups mkdir ${M}/rootonly`,
    `setpriv --reuid=2000 --regid=2000 --clear-groups cat ${D}/renamed.txt`, `setpriv --reuid=2000 --regid=2000 --clear-groups chmod 777 ${D}/four.bin`,
    `readlink ${D}/four.bin`, `python3 -c "import os; os.rmdir('${D}/four.bin')"`, `python3 -c "import os; os.rename('${D}', '${D}/sub2')"`,
  ].map((x) => `${x} 2>/dev/null || true`).join('\n'));

  // --- tools (through the mount's local proxy) ---
  await step(m, 'goal/trash/info tools', [
    `mfssetgoal 2 ${D}/four.bin`, `mfsgetgoal ${D}/four.bin`, `mfssetgoal -r 2 ${D}`, `mfsgetgoal -r ${D}`,
    `mfsfileinfo ${D}/four.bin ${D}/big.bin ${D}/renamed.txt`, `mfsdirinfo ${D}`, `mfscheckfile ${D}/big.bin`,
    `mfsgettrashtime ${D}/renamed.txt`, `mfssettrashtime 3600 ${D}/renamed.txt`, `mfsrgettrashtime ${D}`,
    `mfsfilepaths ${D}/four.bin`, `mfsfilerepair ${D}/renamed.txt`,
    `mfsgeteattr ${D}/renamed.txt`, `mfsseteattr -f noowner ${D}/renamed.txt`, `mfsdeleattr -f noowner ${D}/renamed.txt`,
    `mfssetquota -i 1000 -I 2000 -l 1G -L 2G ${D}`, `mfsgetquota ${D}`, `mfsdelquota -a ${D}`,
    `mfssetarchive ${D}/renamed.txt`, `mfschkarchive ${D}/renamed.txt`, `mfsclrarchive ${D}/renamed.txt`,
    `mfsgetsclass ${D}/four.bin`, `mfslistsclass`, `mfsdirinfo -p ${D}`, `mfsfileinfo -c -s ${D}/four.bin`,
  ].map((x) => `${x} || true`).join('\n'), M);
  await step(m, 'storage classes', [
    'mfsscadmin create -K 2 lab_sc', 'mfsscadmin list', 'mfsscadmin list -l', 'mfsscadmin change -K 1 lab_sc',
    'mfsscadmin copy lab_sc lab_sc2', 'mfsscadmin rename lab_sc2 lab_sc3', `mfssetsclass lab_sc ${D}/renamed.txt`,
    `mfsxchgsclass lab_sc 2 ${D}/renamed.txt`, 'mfsscadmin delete lab_sc3',
  ].map((x) => `${x} || true`).join('\n'), M);
  await step(m, 'snapshot + copy-on-write (DUPLICATE)', `mfsmakesnapshot ${D}/four.bin ${D}/snap; printf 'zz' | dd of=${D}/snap bs=1 seek=10 conv=notrunc status=none; mfsfileinfo ${D}/snap ${D}/four.bin`);
  await step(m, 'snapshot + truncate (DUPTRUNC)', `mfsmakesnapshot ${D}/four.bin ${D}/snap2; truncate -s 100 ${D}/snap2; mfsfileinfo ${D}/snap2; mfsrmsnapshot ${D}/snap2 || rm -f ${D}/snap2`);
  await step(m, 'append to existing chunk (SET_VERSION)', `printf 'tail' >> ${D}/four.bin; mfsfileinfo ${D}/four.bin`);
  await step(m, 'appendchunks', `mfsappendchunks ${D}/app.bin ${D}/four.bin; mfsfileinfo ${D}/app.bin`);
  await step(m, 'delete with trash 0 (DELETE)', `printf 'gone' > ${D}/del.txt; mfsfileinfo ${D}/del.txt; mfssettrashtime 0 ${D}/del.txt; rm ${D}/del.txt`);

  // --- meta mount: trash listing, undelete, purge ---
  const MM = meta.dir;
  // trash/<bucket>/<inode>|<path> entries; reading one gives its path, writing one sets it, moving
  // it into its bucket's undel/ restores it, removing it purges it.
  await step(m, 'trash + undel + purge', `
printf 'back' > ${D}/trashme.txt; rm ${D}/trashme.txt
printf 'purge' > ${D}/purge.txt; rm ${D}/purge.txt
printf 'moved' > ${D}/moved.txt; rm ${D}/moved.txt
ls ${MM} ${MM}/trash ${MM}/sustained > /dev/null
t=$(find ${MM}/trash -mindepth 2 -maxdepth 2 -name '*trashme.txt' -print -quit)
stat "$t" > /dev/null; cat "$t"; echo
mv "$t" "$(dirname "$t")/undel/"
v=$(find ${MM}/trash -mindepth 2 -maxdepth 2 -name '*moved.txt' -print -quit)
printf 'dir1/moved-back.txt' > "$v"; cat "$v"; echo; mv "$v" "$(dirname "$v")/undel/"
p=$(find ${MM}/trash -mindepth 2 -maxdepth 2 -name '*purge.txt' -print -quit)
rm "$p"
ls ${D}/trashme.txt ${D}/moved-back.txt`);

  // --- monitoring: mfscli against the master and (via -SHD, -SCS) the chunkservers ---
  const cs1 = lab.host('cs1').ip;
  const sets = [
    ['-SIN'], ['-SIM'], ['-SLI'], ['-SIG'], ['-SMU'], ['-SIC'], ['-SIL'], ['-SMF'], ['-SCS'], ['-SMB'], ['-SHD'],
    ['-SEX'], ['-SMS'], ['-SRS'], ['-SSC'], ['-SOF'], ['-SAL'], ['-SMO'], ['-SMO', '-m', '1'], ['-SQU'],
    ['-SMC', '-b', 'ucpu,memory', '-a', '5'], ['-SCC', '-d', `${cs1}:9422:ucpu`, '-c', '5'],
  ];
  for (const set of sets) {
    const r = await master.cli(set, { allowFail: true, from: lab.host('client') });
    log(`${r.ok ? 'ok  ' : 'FAIL'} mfscli ${set.join(' ')}${r.ok ? '' : `: ${r.stderr.slice(-200)}`}`);
  }
  for (const cmd of [`-CM1/${cs1}/9422`, `-CM0/${cs1}/9422`]) {
    const r = await master.cli([cmd], { allowFail: true, from: lab.host('client') });
    log(`${r.ok ? 'ok  ' : 'FAIL'} mfscli ${cmd}`);
  }

  // --- replication: a third chunkserver, a goal raised to 3 (CS->CS GET_CHUNK_BLOCKS + READ) ---
  await lab.startChunkserver({ host: 'cs3', master });
  // A damaged and a lost chunk (goal 1 files; the chunk files edited behind the chunkserver's back),
  // read later through the second mount with few retries: CSTOMA_CHUNK_DAMAGED / CSTOMA_CHUNK_LOST.
  // The read must come more than 10 s after the write: a 3.0.117 chunkserver keeps the last block it
  // wrote in memory that long (PRESERVE_BLOCK, BLOCK_DELAY in hddspacemgr.c) and would serve it.
  const info = await step(m, 'goal-1 victims', `mfssetgoal 1 ${D}; printf 'damage me please' > ${D}/dmg.txt; printf 'lose me' > ${D}/lost.txt; sync ${D}/dmg.txt ${D}/lost.txt; mfsfileinfo ${D}/dmg.txt; mfsfileinfo ${D}/lost.txt`);
  const ids = [...info.matchAll(/chunk 0: ([0-9A-F]{16})_([0-9A-F]{8})/g)].map((x) => x[1]!);
  const hdds = lab.daemons.filter((d): d is Chunkserver => d instanceof Chunkserver).flatMap((d) => d.hddPaths);
  const victimsWritten = Date.now();
  if (ids.length === 2) {
    await step(m, 'damage + lose chunk files', `
d=$(find ${hdds.join(' ')} -name 'chunk_${ids[0]}_*.mfs' -print -quit); printf 'XXXX' | dd of="$d" bs=1 seek=8200 conv=notrunc status=none
l=$(find ${hdds.join(' ')} -name 'chunk_${ids[1]}_*.mfs' -print -quit); rm "$l"; echo "$d $l"`);
  }

  await step(m, 'goal 3', `mfssetgoal 3 ${D}/four.bin ${D}/big.bin`);
  await waitFor(
    'replication to 3 copies',
    async () => {
      const out = await step(m, 'fileinfo (waiting for 3 copies)', `mfsfileinfo ${D}/four.bin`);
      return (out.match(/copy \d+:/g) ?? []).length >= 3;
    },
    { timeoutMs: 120_000, intervalMs: 3_000 },
  );
  // A chunkserver leaving while its chunks are wanted, then the goal-2 files on the remaining two.
  const cs2 = lab.daemons.find((d) => d.host.name === 'cs2')!;
  await cs2.stop();
  // Written while cs2 is away: the master bumps the versions (SET_VERSION) and, when cs2 comes back
  // with the old ones, has them deleted (DELETE).
  await step(m, 'writes while cs2 is away', `mfsfileinfo ${D}/renamed.txt ${D}/four.bin; printf 'more' >> ${D}/renamed.txt; printf 'x' | dd of=${D}/four.bin bs=1 seek=1 conv=notrunc,fsync status=none; printf 'y' | dd of=${D}/big.bin bs=1 seek=2 conv=notrunc,fsync status=none; mfscheckfile ${D}/four.bin`);
  await cs2.start();
  await step(m, 'after cs2 is back', `mfsfileinfo ${D}/renamed.txt ${D}/four.bin ${D}/big.bin`);

  // A second mount that has never seen the files: its reads need READ_CHUNK; while it holds a file
  // open, writes through the first mount change the chunk under it (CHUNK_HAS_CHANGED).
  const m2 = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT', 'mfsioretries=3'], name: 'mnt-client-2' });
  const D2 = `${m2.dir}/dir1`;
  await step(m2, 'second mount reads', `dd if=${D2}/big.bin of=/dev/null bs=4096 count=1 skip=16384 status=none; dd if=${D2}/four.bin of=/dev/null bs=4096 count=1 status=none; cat ${D2}/renamed.txt > /dev/null`);
  await step(m, 'write under an open file', py(`
import os, subprocess, time
fd = os.open('${D2}/four.bin', os.O_RDONLY)
os.pread(fd, 100, 0)
subprocess.run(['sh', '-c', "printf 'q' | dd of=${D}/four.bin bs=1 seek=3 conv=notrunc,fsync status=none; truncate -s 8192 ${D}/four.bin"], check=True)
os.pread(fd, 100, 0)
os.close(fd)`));

  if (ids.length === 2) {
    await waitFor('the chunkservers to drop the victims\' blocks from memory', () => Date.now() > victimsWritten + 12_000, { timeoutMs: 30_000, intervalMs: 500 });
    await step(m2, 'read the damaged and the lost', `timeout 30 cat ${D2}/dmg.txt || true; timeout 30 cat ${D2}/lost.txt || true`);
  }

  // Bare requests to the real daemons, as mfscli makes them (GET_VERSION, GET_CONFIG, MODULE_INFO);
  // the requests come from here (source ports 47000-47099: marked "probe" in the manifest), the
  // replies from MooseFS.
  await step(m, 'probes', py(`
import socket, struct
def recvn(s, n):
    b = b''
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x: raise EOFError('closed')
        b += x
    return b
def ask(ip, port, sport, packets):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', sport)); s.settimeout(5); s.connect((ip, port))
    for t, payload in packets:
        s.sendall(struct.pack('>II', t, len(payload)) + payload)
        try:
            hdr = recvn(s, 8)
            rt, rl = struct.unpack('>II', hdr)
            body = recvn(s, rl)
            print(ip, port, t, '->', rt, rl, body[-40:])
        except Exception as e:
            print(ip, port, t, '-> no answer:', e)
            break
    s.close()
name = lambda n: struct.pack('>B', len(n)) + n
ask('${master.addr}', 9421, 47001, [(10, b''), (10, struct.pack('>I', 7)), (80, struct.pack('>I', 8) + name(b'WORKING_USER')), (530, struct.pack('>I', 9))])
ask('${lab.host('cs1').ip}', 9422, 47002, [(10, b''), (10, struct.pack('>I', 7)), (80, struct.pack('>I', 8) + name(b'MASTER_HOST')), (530, struct.pack('>I', 9))])
`));

  // The second mount goes away; then mfscli removes its (now idle) session: SESSION_COMMAND.
  await m2.unmount();
  const sms = await master.rows('-SMS');
  const sess = sms.find((r) => r.includes(m2.dir));
  if (sess) {
    const r = await master.cli([`-CRS/${sess[1]}`], { allowFail: true, from: lab.host('client') });
    log(`${r.ok ? 'ok  ' : 'FAIL'} mfscli -CRS/${sess[1]}`);
  }

  // A second, password-protected cluster: the chunkserver answers an AUTH_CODE challenge
  // (MATOCS_MASTER_ACK with 32 random bytes, CSTOMA_REGISTER with a passcode), mounts register with a
  // password (GETRANDOM + passcode), a wrong one and none at all (the status-only replies).
  const master2 = await lab.startMaster({
    host: 'master2',
    cfg: { AUTH_CODE: 'labauthcode' },
    exports: '*\t/\trw,alldirs,admin,maproot=0:0,password=labpass\n*\t.\trw,password=labpass\n',
  });
  await lab.startChunkserver({ host: 'cs4', master: master2, cfg: { AUTH_CODE: 'labauthcode' } });
  const pm = await lab.mount({ host: 'client', master: master2, options: ['mfspassword=labpass'], name: 'mnt-password' });
  await step(pm, 'write with a password mount', `printf 'secret data' > ${pm.dir}/x.txt; cat ${pm.dir}/x.txt > /dev/null`);
  for (const [what, opt] of [['wrong password', ['-o', 'mfspassword=wrong']], ['no password', []]] as const) {
    const dir = join(lab.dir, `mnt-${what.replace(' ', '-')}`);
    mkdirSync(dir, { recursive: true });
    await step(pm, `mount with ${what} (must fail)`, `timeout 20 mfsmount ${dir} -H ${master2.addr} ${opt.join(' ')} && { umount ${dir}; exit 1; } || true`);
  }
  await pm.unmount();

  // Background traffic that only comes with time: the chunk loop's deletions (MATOCS_DELETE, at least
  // 60 s apart per chunk), the client's SUSTAINED_INODES (every 60 s), the metalogger's stream.
  const until = Date.now() + 65_000;
  await waitFor('a minute of background traffic (sustained inodes, chunk loop)', () => Date.now() >= until, { timeoutMs: 70_000, intervalMs: 1_000 });
}

// ---- from pcap to fixtures --------------------------------------------------------------------------

type Dir = string; // the MooseFS direction prefix: CLTOMA, MATOCL, ...

interface Topology {
  masters: Set<string>;
  csIps: Set<string>;
  csPorts: Set<number>;
}

/** Direction names for a connection, from who listens where (9419 ML, 9420 CS, 9421 CL, data ports). */
function classify(c: TcpConnection, t: Topology): [Dir, Dir] | undefined {
  const s = c.server;
  if (t.masters.has(s.ip)) {
    if (s.port === 9419) return ['ANTOMA', 'MATOAN'];
    if (s.port === 9420) return ['CSTOMA', 'MATOCS'];
    if (s.port === 9421) return ['CLTOMA', 'MATOCL'];
  }
  if (t.csIps.has(s.ip) && t.csPorts.has(s.port)) return t.csIps.has(c.client.ip) ? ['CSTOCS', 'CSTOCS'] : ['CLTOCS', 'CSTOCL'];
  // The mount's proxy for the tools, on 127.0.0.1 in the client's namespace: tools speak CLTOMA to it.
  if (s.ip === '127.0.0.1') return ['CLTOMA', 'MATOCL'];
  return undefined;
}

const byId = new Map<number, { name: string; link: string }[]>();
for (const e of MESSAGE_IDS) {
  const l = byId.get(e.id) ?? [];
  l.push({ name: e.name, link: e.link });
  byId.set(e.id, l);
}

/** The MooseFS name of `id` seen going in direction `dir` (ids are unique but for one overlap, 499). */
function nameOf(id: number, dir: Dir): string | undefined {
  const c = byId.get(id);
  if (!c) return undefined;
  if (c.length === 1) return c[0]!.name;
  return (c.find((x) => x.link === dir) ?? c.find((x) => dir.startsWith(x.link.slice(0, 2))) ?? c[0]!).name;
}

/** Distinguishes samples of one message worth keeping apart: length, plus a variant byte where one exists. */
function variantKey(name: string, p: Buffer): string {
  let v = '';
  if (name === 'CLTOMA_FUSE_REGISTER' && p.length > 64) v = `r${p[64]}`;
  else if (name === 'MATOCL_FUSE_REGISTER') v = `l${p.length}`; // each reply form has its own length
  else if (name.startsWith('MATOCL_') && p.length === 5) v = `s${p[4]}`; // msgid status: one per status
  else if (/^(CSTOMA_REGISTER|MATOAN_METACHANGES_LOG|ANTOMA_DOWNLOAD_START|ANTOMA_REGISTER|MATOCS_MASTER_ACK|CLTOCS_READ|CLTOCS_WRITE)$/.test(name) && p.length > 0) v = `b${p[0]}`;
  return `${p.length}${v}`;
}

const u64at = (p: Buffer, o: number): number => Number(p.readBigUInt64BE(o));

/**
 * Field values the workload makes known, named as in packages/protocol/src/messages/. Each value is
 * read at its offset (layouts from mfscommon/MFSCommunication.h and mfsmaster/matoclserv.c) and kept
 * only when it matches something the workload knows independently (a name it created, a length it
 * wrote, a chunk id mfsfileinfo printed), so a wrong offset gives no expectation rather than a wrong one.
 */
function expectFor(name: string, p: Buffer): Record<string, number | string> | undefined {
  const e: Record<string, number | string> = {};
  const fuse = /^(CLTOMA|MATOCL)_FUSE_/.test(name) && !/_(REGISTER|SUSTAINED_INODES(_DEPRECATED)?|AMTIME_INODES)$/.test(name);
  if (fuse && p.length >= 4) e.msgid = p.readUInt32BE(0);
  const attrLength = (off: number): void => {
    if (p.length < off + 36 || p[off + 1]! >> 4 !== 1) return;
    const len = u64at(p, off + 27);
    if (KNOWN_LENGTHS.has(len)) e['attr.length'] = len;
  };
  const nameAt = (off: number, key: string): void => {
    if (p.length < off + 1) return;
    const len = p[off]!;
    if (p.length < off + 1 + len) return;
    const s = p.subarray(off + 1, off + 1 + len).toString('utf8');
    if (NAMES.includes(s)) e[key] = s;
  };
  switch (name) {
    case 'CLTOMA_FUSE_LOOKUP':
    case 'CLTOMA_FUSE_MKDIR':
    case 'CLTOMA_FUSE_CREATE':
    case 'CLTOMA_FUSE_MKNOD':
    case 'CLTOMA_FUSE_UNLINK':
    case 'CLTOMA_FUSE_RMDIR':
    case 'CLTOMA_FUSE_SYMLINK':
      nameAt(8, 'name'); // msgid:32 parent:32 NAME
      break;
    case 'CLTOMA_FUSE_LINK':
      nameAt(12, 'nameDst'); // msgid:32 inode:32 parent_dst:32 NAME
      break;
    case 'CLTOMA_FUSE_RENAME':
      nameAt(8, 'nameSrc'); // msgid:32 parent_src:32 NAME parent_dst:32 NAME
      if (p.length > 9 + p[8]! + 4) nameAt(9 + p[8]! + 4, 'nameDst');
      break;
    case 'MATOCL_FUSE_READ_CHUNK':
    case 'MATOCL_FUSE_WRITE_CHUNK':
      // msgid:32 protover:8 length:64 chunkid:64 version:32 locations
      if (p.length >= 25 && p[4] === 2) {
        const len = u64at(p, 5);
        if (KNOWN_LENGTHS.has(len)) e.length = len;
        const id = u64at(p, 13);
        if (chunkIds.has(id)) e.chunkid = id;
      }
      break;
    // Replies carrying an ATTR record (36 bytes; the file length at ATTR offset 27, the type in the top
    // 4 bits of the mode word at ATTR offset 1): where the record starts in each reply.
    case 'MATOCL_FUSE_GETATTR': // msgid ATTR
    case 'MATOCL_FUSE_SETATTR':
      if (p.length === 40) attrLength(4);
      break;
    case 'MATOCL_FUSE_LOOKUP': // msgid inode ATTR [lflags ...]
      if (p.length >= 44) attrLength(8);
      break;
    case 'MATOCL_FUSE_TRUNCATE': // msgid prevlength:64 ATTR
      if (p.length === 48) attrLength(12);
      break;
    case 'MATOCL_FUSE_OPEN': // msgid oflags:8 ATTR
      if (p.length === 41) attrLength(5);
      break;
    case 'MATOCL_FUSE_CREATE': // msgid oflags:8 inode ATTR
      if (p.length === 45) attrLength(9);
      break;
    case 'CLTOMA_FUSE_TRUNCATE': // ... length:64 at the end
      if (p.length >= 16 && KNOWN_LENGTHS.has(u64at(p, p.length - 8))) e.length = u64at(p, p.length - 8);
      break;
    case 'CLTOMA_FUSE_WRITE_CHUNK_END': // msgid chunkid:64 inode indx length:64 chunkopflags:8 (29 bytes)
      if (p.length >= 12 && chunkIds.has(u64at(p, 4))) e.chunkid = u64at(p, 4);
      if (p.length === 29 && KNOWN_LENGTHS.has(u64at(p, 20))) e.length = u64at(p, 20);
      break;
    case 'CLTOMA_FUSE_GETXATTR': // msgid inode NAME ...
    case 'CLTOMA_FUSE_SETXATTR':
      nameAt(8, 'name');
      break;
    case 'MATOCL_FUSE_READLINK': {
      // msgid:32 pleng:32 path (NUL-terminated, counted in pleng)
      if (p.length > 8) {
        const s = p.subarray(8).toString('utf8').replace(/\0$/, '');
        if (s === 'renamed.txt') e.path = s;
      }
      break;
    }
    case 'MATOCS_CREATE':
    case 'MATOCS_DELETE':
    case 'MATOCS_SET_VERSION':
    case 'MATOCS_TRUNCATE':
    case 'CSTOMA_CREATE':
    case 'CSTOMA_DELETE':
    case 'CSTOMA_SET_VERSION':
    case 'CSTOMA_TRUNCATE':
    case 'CSTOCL_READ_DATA':
    case 'CSTOCL_READ_STATUS':
    case 'CLTOCS_WRITE_DATA':
    case 'CLTOCS_WRITE_FINISH':
    case 'CSTOCL_WRITE_STATUS':
      if (p.length >= 8 && chunkIds.has(u64at(p, 0))) e.chunkid = u64at(p, 0);
      break;
    case 'ANTOAN_CONFIG_VALUE':
      // msgid:32 vleng:8 value: the probe asked with msgid 8
      if (p.length >= 5 && p.readUInt32BE(0) === 8) e.msgid = 8;
      break;
    case 'CLTOCS_READ':
    case 'CLTOCS_WRITE':
      // protover:8 chunkid:64 ...
      if (p.length >= 9 && chunkIds.has(u64at(p, 1))) e.chunkid = u64at(p, 1);
      break;
  }
  return Object.keys(e).length ? e : undefined;
}

interface Sample {
  /** Sent by the capture script itself (a bare request), not by a MooseFS program. */
  probe: boolean;
  dir: Dir;
  name: string;
  id: number;
  packet: Buffer;
  key: string;
}

function collect(conns: TcpConnection[], t: Topology): { samples: Map<string, Sample[]>; stats: string[] } {
  const samples = new Map<string, Sample[]>();
  const stats: string[] = [];
  const unknown = new Map<string, number>();
  let packets = 0;
  for (const c of conns) {
    const dirs = classify(c, t);
    const label = `${c.client.ip}:${c.client.port} -> ${c.server.ip}:${c.server.port}`;
    if (!dirs) {
      stats.push(`unclassified connection ${label}`);
      continue;
    }
    const fromProbe = c.client.port >= 47000 && c.client.port < 47100;
    for (const [half, dir, probe] of [
      [c.up, dirs[0], fromProbe],
      [c.down, dirs[1], false],
    ] as const) {
      if (half.missing > 0) stats.push(`${label} ${dir}: ${half.missing} bytes missing in the capture; framed up to the hole`);
      const framer = new PacketFramer(1 << 30);
      const err = framer.push(half.data, (type, payload) => {
        packets++;
        const name = nameOf(type, dir);
        if (!name) {
          unknown.set(`${dir}:${type}`, (unknown.get(`${dir}:${type}`) ?? 0) + 1);
          return;
        }
        if (payload.length > MAX_PAYLOAD) return;
        const k = `${dir}/${name}`;
        const list = samples.get(k) ?? [];
        const key = variantKey(name, payload);
        if (list.length < 64 && !list.some((s) => s.key === key)) {
          const packet = Buffer.allocUnsafe(8 + payload.length);
          packet.writeUInt32BE(type, 0);
          packet.writeUInt32BE(payload.length, 4);
          payload.copy(packet, 8);
          list.push({ probe, dir, name, id: type, packet, key });
          samples.set(k, list);
        }
      });
      if (err) stats.push(`${label} ${dir}: ${err.message}`);
      if (framer.pending) stats.push(`${label} ${dir}: ${framer.pending} bytes of an incomplete packet at the end (client ${c.up.end ?? 'open'}, server ${c.down.end ?? 'open'})`);
    }
  }
  stats.push(`${packets} packets framed`);
  for (const [k, n] of unknown) stats.push(`unknown id ${k} x${n}`);
  return { samples, stats };
}

/**
 * Up to MAX_SAMPLES samples of distinct lengths (the smallest, the largest small one, then spread out),
 * and beyond that, up to MAX_VARIANTS, one of every variant byte not yet represented.
 */
function pick(list: Sample[]): Sample[] {
  const sorted = [...list].sort((a, b) => a.packet.length - b.packet.length);
  const chosen: Sample[] = [];
  let big = 0;
  const variant = (x: Sample): string => x.key.replace(/^\d+/, '');
  const add = (x: Sample | undefined, cap: number): void => {
    if (!x || chosen.includes(x) || chosen.length >= cap) return;
    const isBig = x.packet.length - 8 > SMALL_PAYLOAD;
    if (isBig && big >= 1) return;
    if (isBig) big++;
    chosen.push(x);
  };
  add(sorted[0], MAX_SAMPLES);
  // every variant byte (and every status-only reply form) once
  for (const x of sorted) if (!chosen.some((c) => variant(c) === variant(x))) add(x, MAX_VARIANTS);
  const small = sorted.filter((x) => x.packet.length - 8 <= SMALL_PAYLOAD);
  add(small[small.length - 1], MAX_SAMPLES);
  for (let i = 1; chosen.length < MAX_SAMPLES && i < small.length; i++) add(small[Math.floor((i * small.length) / MAX_SAMPLES)], MAX_SAMPLES);
  if (chosen.length < MAX_SAMPLES) add(sorted[sorted.length - 1], MAX_SAMPLES);
  return chosen.sort((a, b) => a.packet.length - b.packet.length);
}

function writeFixtures(samples: Map<string, Sample[]>): { files: number; bytes: number; names: Set<string>; links: Map<string, number> } {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const manifest: { file: string; link: string; name: string; id: number; probe?: true; expect?: Record<string, number | string> }[] = [];
  let bytes = 0;
  const names = new Set<string>();
  const links = new Map<string, number>();
  for (const k of [...samples.keys()].sort()) {
    const chosen = pick(samples.get(k)!);
    chosen.forEach((s, i) => {
      mkdirSync(join(OUT, s.dir), { recursive: true });
      const file = `${s.dir}/${s.name}${i ? `_${i + 1}` : ''}.bin`;
      writeFileSync(join(OUT, file), s.packet);
      bytes += s.packet.length;
      names.add(s.name);
      links.set(s.dir, (links.get(s.dir) ?? 0) + 1);
      const expect = expectFor(s.name, s.packet.subarray(8));
      manifest.push({ file, link: s.dir, name: s.name, id: s.id, ...(s.probe ? { probe: true as const } : {}), ...(expect ? { expect } : {}) });
    });
  }
  writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return { files: manifest.length, bytes, names, links };
}

// ---- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('capture-fixtures must run as root (network namespaces, FUSE, tcpdump)');
  const t0 = Date.now();
  const c = await bringUp();
  const readme = readFileSync(join(OUT, 'README.md'), 'utf8');
  let ok = false;
  try {
    log(`lab ${c.lab.id} up in ${Date.now() - t0} ms (dir ${c.lab.dir})`);
    await workload(c);
    // Orderly goodbyes on the wire: unmount, then metalogger and chunkservers, then the master.
    for (const mm of c.lab.mounts) await mm.unmount();
    for (const d of [...c.lab.daemons].reverse()) await d.stop();
    for (const cap of c.captures) await cap.proc.stop(10_000, 'SIGINT');
    const topo: Topology = {
      masters: new Set([c.master.host.ip, c.lab.host('master2').ip]),
      csIps: new Set([...c.csHosts, c.lab.host('cs4')].map((h) => h.ip)),
      csPorts: new Set(c.lab.daemons.filter((d): d is Chunkserver => d instanceof Chunkserver).map((d) => d.port)),
    };
    const segs = c.captures.flatMap((cap) => readPcapTcp(cap.file));
    const conns = reassemble(segs);
    log(`${segs.length} segments, ${conns.length} connections`);
    const { samples, stats } = collect(conns, topo);
    for (const s of stats) log(s);
    const r = writeFixtures(samples);
    writeFileSync(join(OUT, 'README.md'), readme);
    log(`wrote ${r.files} fixtures, ${r.bytes} bytes, ${r.names.size} distinct names; by link: ${[...r.links].map(([l, n]) => `${l} ${n}`).join(', ')}`);
    log(`names: ${[...r.names].sort().join(' ')}`);
    ok = true;
  } catch (e) {
    c.lab.failed = true;
    c.lab.printLogs();
    throw e;
  } finally {
    try {
      writeFileSync(join(OUT, 'README.md'), readme);
    } catch {
      // already there
    }
    await c.lab.teardown().catch((e: Error) => log(`teardown: ${e.message}`));
    if (ok) rmSync(c.lab.dir, { recursive: true, force: true });
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

await main();
