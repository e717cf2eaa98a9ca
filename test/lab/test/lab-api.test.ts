// The lab's plumbing, without MooseFS: hosts reach each other over the bridge and only there, a VIP
// moves between hosts, two labs get different subnets, spawned processes are logged and tracked.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { binFor, createLab, LabError, readPcapTcp, reassemble, REPO_ROOT, type Host } from '@mfs-ts/lab';
import { describeLab, useLab } from '@mfs-ts/lab/vitest';

/** A one-shot TCP server in `host` that answers "hello from NAME" and exits. */
function serve(host: Host, addr: string, port: number) {
  const code = `import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${addr}', ${port})); s.listen(1)\nprint('listening', flush=True)\nc, _ = s.accept(); c.sendall(b'hello from ${host.name}'); c.close()`;
  return host.spawn(`srv-${host.name}-${port}`, ['python3', '-c', code]);
}

async function connect(from: Host, addr: string, port: number): Promise<string> {
  const code = `import socket\ns = socket.create_connection(('${addr}', ${port}), timeout=5)\nprint(s.recv(100).decode())`;
  return (await from.exec(['python3', '-c', code], { timeoutMs: 15_000 })).stdout.trim();
}

describeLab('lab: namespaces, addresses, processes', () => {
  const lab = useLab({ hosts: ['a', 'b', 'c'] });

  it('gives each host lo, eth0 and an address in the lab subnet, and joins them on a bridge', async () => {
    const [a, b] = [lab().host('a'), lab().host('b')];
    expect(a.ip).toBe(`${lab().subnet}.1`);
    expect(b.ip).toBe(`${lab().subnet}.2`);
    expect(await a.addresses()).toEqual([a.ip]);
    const lo = await a.exec(['ip', '-o', 'link', 'show', 'lo']);
    expect(lo.stdout).toMatch(/state UNKNOWN|UP/);
    const srv = serve(b, b.ip, 7000);
    await b.waitListening(7000, { abort: () => srv.exitReason() });
    expect(await connect(a, b.ip, 7000)).toBe('hello from b');
    await srv.exited;
    expect(readFileSync(srv.logPath, 'utf8')).toContain('listening');
    // Not reachable from outside the lab: the root namespace has no route into the subnet's bridge.
    const outside = await createLab({ hosts: 1 });
    try {
      expect(outside.subnet).not.toBe(lab().subnet);
      const r = await outside.host(0).exec(['python3', '-c', `import socket; socket.create_connection(('${b.ip}', 7000), timeout=2)`], { allowFail: true });
      expect(r.ok).toBe(false);
    } finally {
      await outside.teardown();
    }
  });

  it('moves a VIP from one host to another', async () => {
    const [a, b, c] = [lab().host('a'), lab().host('b'), lab().host('c')];
    const vip = lab().vip(0);
    await a.addAddress(vip);
    expect(await a.addresses()).toContain(vip);
    let srv = serve(a, vip, 7001);
    await a.waitListening(7001, { abort: () => srv.exitReason() });
    expect(await connect(c, vip, 7001)).toBe('hello from a');
    await srv.exited;
    await a.removeAddress(vip);
    expect(await a.addresses()).not.toContain(vip);
    await b.addAddress(vip);
    // c's ARP cache may still name a's MAC until the gratuitous ARP (if arping exists) or a retry.
    await c.exec(['ip', 'neigh', 'flush', 'all']);
    srv = serve(b, vip, 7001);
    await b.waitListening(7001, { abort: () => srv.exitReason() });
    expect(await connect(c, vip, 7001)).toBe('hello from b');
    await srv.exited;
    await b.removeAddress(vip);
  });

  it('logs and tracks spawned processes, and dumps every log', async () => {
    const p = lab().host('c').spawn('chatty', ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exec sleep 300']);
    await expect.poll(() => readFileSync(p.logPath, 'utf8')).toContain('to-stderr');
    expect(p.running).toBe(true);
    const dump = lab().dumpLogs();
    expect(dump).toContain('---- chatty.log ----');
    expect(dump).toContain('to-stdout');
    const exit = await p.stop(5_000);
    expect(exit.signal).toBe('SIGTERM');
    expect(p.running).toBe(false);
  });

  it('resolves our binaries from the repository root and reports a daemon that exits before it is ready', async () => {
    expect(binFor('master', 'ts')).toBe(`${REPO_ROOT}/node_modules/.bin/mfsmaster-ts`);
    expect(binFor('mount', 'real')).toBe('mfsmount');
    // A real master given a DATA_PATH that does not exist fails at start: the lab says so
    // (MFSL_DAEMON_EXITED with the log path) instead of waiting out its timeout.
    const t0 = Date.now();
    const err = await lab()
      .startMaster({ host: 'c', cfg: { DATA_PATH: '/nonexistent/mfsdata' }, readyTimeoutMs: 60_000 })
      .then(() => undefined, (e: unknown) => e);
    expect(LabError.is(err), String(err)).toBe(true);
    expect((err as LabError).code).toBe('MFSL_DAEMON_EXITED');
    expect((err as LabError).message).toMatch(/master.*log: /s);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('captures traffic with tcpdump and reassembles both directions of a stream', async () => {
    const [a, b] = [lab().host('a'), lab().host('b')];
    // Both ends capture, so every segment is seen twice: reassembly must not double anything.
    const caps = [await a.capture(join(lab().dir, 'a.pcap')), await b.capture(join(lab().dir, 'b.pcap'))];
    // b serves: reads 300000 bytes, answers with their sha256 and then 100000 bytes of its own.
    const code = `import socket, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${b.ip}', 7002)); s.listen(1)
c, _ = s.accept(); got = b''
while len(got) < 300000: got += c.recv(65536)
c.sendall(hashlib.sha256(got).hexdigest().encode() + bytes(range(256)) * 390 + b'end!'); c.close()`;
    const srv = b.spawn('srv-b-7002', ['python3', '-c', code]);
    await b.waitListening(7002, { abort: () => srv.exitReason() });
    const client = `import socket, os
s = socket.create_connection(('${b.ip}', 7002), timeout=10)
data = bytes((i * 7) & 255 for i in range(300000)); s.sendall(data)
back = b''
while True:
    x = s.recv(65536)
    if not x: break
    back += x
print(len(back))`;
    expect((await a.exec(['python3', '-c', client])).stdout.trim()).toBe(String(64 + 256 * 390 + 4));
    await srv.exited;
    for (const p of caps) await p.stop(10_000, 'SIGINT');
    const conns = reassemble([...readPcapTcp(join(lab().dir, 'a.pcap')), ...readPcapTcp(join(lab().dir, 'b.pcap'))]).filter((c) => c.server.port === 7002);
    expect(conns).toHaveLength(1);
    const c = conns[0]!;
    expect(c.synSeen).toBe(true);
    expect(c.client.ip).toBe(a.ip);
    expect(c.server.ip).toBe(b.ip);
    const sent = Buffer.from(Array.from({ length: 300000 }, (_, i) => (i * 7) & 255));
    expect(c.up.missing).toBe(0);
    expect(c.up.data.equals(sent)).toBe(true);
    const digest = createHash('sha256').update(sent).digest('hex');
    expect(c.down.data.subarray(0, 64).toString()).toBe(digest);
    expect(c.down.data.length).toBe(64 + 256 * 390 + 4);
    expect(c.down.data.subarray(-4).toString()).toBe('end!');
    expect(c.down.end).toBe('fin');
  });
});
