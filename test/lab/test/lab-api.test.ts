// The lab's plumbing, without MooseFS: hosts reach each other over the bridge and only there, a VIP
// moves between hosts, two labs get different subnets, spawned processes are logged and tracked.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { binFor, createLab, LabError, REPO_ROOT, type Host } from '@mfs-ts/lab';
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
});
