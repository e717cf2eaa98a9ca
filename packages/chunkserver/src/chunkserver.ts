import { ipToU32 } from '@mfs-ts/protocol';
import { mkdir } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { join, resolve as resolvePath } from 'node:path';
import { silentLogger, type ChartsData, type Daemon, type Logger } from '@mfs-ts/common';
import { chunkserverCharts, CS_TEST } from './charts.js';
import { chunksPerRegisterPacket, masterTimeout, parseLabels, type ChunkserverCfg } from './cfg.js';
import { CsServ } from './csserv.js';
import { HddSpaceMgr } from './hddspacemgr/index.js';
import { parseMfsSize } from './hddspacemgr/hddcfg.js';
import { testChunk } from './hddspacemgr/chunkops.js';
import { MasterConn, readCsId } from './masterconn.js';

export interface ChunkserverOptions {
  cfg: ChunkserverCfg;
  log?: Logger;
  /**
   * MooseFS refuses a master on 127.x ("localhost can't be used for connecting with master"); the
   * library keeps that rule unless a test turns it off.
   */
  allowLoopbackMaster?: boolean;
  /** Called when the master belongs to another instance (MooseFS quits then). */
  onFatal?: (reason: string) => void;
}

/**
 * mfschunkserver as a library: `start()` reads mfshdd.cfg and scans the disks, listens on the data
 * port and connects to the master; `stop()` unregisters, closes everything and writes `.chunkdb`.
 */
export class Chunkserver implements Daemon {
  readonly cfg: ChunkserverCfg;
  readonly log: Logger;
  hdd!: HddSpaceMgr;
  csserv!: CsServ;
  master!: MasterConn;
  private listenIp = 0;
  private listenPort = 0;
  private readonly jobs = { count: 0 };
  private started = false;
  /** Statistics for the charts (csstats.mfs in DATA_PATH); made at start. */
  charts: ChartsData | undefined;

  constructor(private readonly opts: ChunkserverOptions) {
    this.cfg = opts.cfg;
    this.log = opts.log ?? silentLogger();
  }

  /** The data port actually bound (useful with CSSERV_LISTEN_PORT = 0). */
  get dataPort(): number {
    return this.listenPort;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const dataPath = resolvePath(cfg.DATA_PATH);
    await mkdir(dataPath, { recursive: true });
    const leave = parseMfsSize(cfg.HDD_LEAVE_SPACE_DEFAULT) ?? 256 * 1024 * 1024;
    const ids = await readCsId(dataPath);
    this.hdd = new HddSpaceMgr({
      hddConfFile: resolvePath(dataPath, cfg.HDD_CONF_FILENAME),
      leaveSpaceDefault: leave,
      fsyncBeforeClose: cfg.HDD_FSYNC_BEFORE_CLOSE,
      sparsify: cfg.HDD_SPARSIFY_ON_WRITE,
      keepDuplicatesHours: cfg.HDD_KEEP_DUPLICATES_HOURS,
      rrChunkCount: cfg.HDD_RR_CHUNK_COUNT,
      knownMetaId: ids.metaId,
      errorTolerance: { count: cfg.HDD_ERROR_TOLERANCE_COUNT, periodS: cfg.HDD_ERROR_TOLERANCE_PERIOD },
      log: this.log,
    });
    await this.hdd.init();
    const charts = chunkserverCharts({
      file: join(dataPath, 'csstats.mfs'),
      hdd: () => this.hdd,
      jobs: () => this.jobs.count + (this.master?.jobs ?? 0),
      log: this.log.child({ module: 'charts' }),
    });
    this.charts = charts;
    const labels = parseLabels(cfg.LABELS);
    for (const w of labels.warnings) this.log.warn(w);
    this.csserv = new CsServ({
      hdd: this.hdd,
      log: this.log.child({ module: 'csserv' }),
      cfgValue: (name) => {
        const v = (cfg as Record<string, unknown>)[name];
        return v === undefined ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
      },
      moduleInfo: () => ({
        csid: this.master?.csid ?? 0,
        metaId: this.master?.metaId ?? 0n,
        masterIp: this.master?.isRegistered ? this.master.masterIp : 0,
        masterPort: this.master?.isRegistered ? this.master.masterPort : 0,
      }),
      jobs: this.jobs,
      charts,
    });
    const port = Number.parseInt(cfg.CSSERV_LISTEN_PORT, 10);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`CSSERV_LISTEN_PORT: bad port '${cfg.CSSERV_LISTEN_PORT}'`);
    let host = cfg.CSSERV_LISTEN_HOST;
    if (host !== '*' && ipToU32(host) === undefined) host = (await lookup(host, { family: 4 })).address;
    try {
      const a = await this.csserv.listen(host, port);
      this.listenPort = a.port;
      this.listenIp = host === '*' ? 0 : ipToU32(a.address) ?? 0;
    } catch (e) {
      await this.hdd.stop();
      throw new Error(`main server module: can't listen on socket (${cfg.CSSERV_LISTEN_HOST}:${cfg.CSSERV_LISTEN_PORT}): ${(e as Error).message}`);
    }
    const workersMax = cfg.WORKERS_MAX;
    this.master = new MasterConn(
      {
        masterHost: cfg.MASTER_HOST,
        masterPort: cfg.MASTER_PORT,
        bindHost: cfg.BIND_HOST,
        timeout: masterTimeout(cfg.MASTER_TIMEOUT),
        reconnectDelayS: cfg.MASTER_RECONNECTION_DELAY,
        authCode: cfg.AUTH_CODE === '' ? undefined : cfg.AUTH_CODE,
        labelMask: labels.mask,
        chunksPerPacket: chunksPerRegisterPacket(cfg.CHUNKS_PER_REGISTER_PACKET),
        dataPath,
        listen: () => ({ ip: this.listenIp, port: this.listenPort }),
        load: () => ({ jobs: this.jobs.count, overloaded: this.jobs.count + this.master.jobs > (workersMax * 3) / 4 }),
        allowLoopbackMaster: this.opts.allowLoopbackMaster === true || cfg.ALLOW_LOOPBACK_MASTER,
        charts: charts.counters,
        onFatal: (r) => {
          this.log.error(r);
          if (this.opts.onFatal) this.opts.onFatal(r);
          else void this.stop();
        },
      },
      this.hdd,
      this.log,
    );
    try {
      await this.master.start();
    } catch (e) {
      await this.csserv.close();
      await this.hdd.stop();
      throw e;
    }
    // HDD_TEST_SPEED (MiB/s per disk); without it the deprecated HDD_TEST_FREQ gives 10/freq.
    const testSpeed = cfg.HDD_TEST_SPEED !== 1 ? cfg.HDD_TEST_SPEED : cfg.HDD_TEST_FREQ > 0 ? 10 / cfg.HDD_TEST_FREQ : 0;
    if (testSpeed <= 0) this.log.info('hdd space manager: regular chunk tests are disabled - this is not recommended setting');
    const hdd = this.hdd;
    hdd.startTester(testSpeed, cfg.HDD_MIN_TEST_INTERVAL, (c) => {
      charts.counters[CS_TEST]!++;
      return testChunk(hdd, c.id, c.version);
    });
    await charts.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.master.stop();
    await this.csserv.close();
    await this.hdd.stop();
    await this.charts?.stop();
  }

  /**
   * SIGHUP: mfshdd.cfg is read again (disks added, removed, marked for removal), LABELS are sent to the
   * master if they changed, HDD_FSYNC_BEFORE_CLOSE applies at once. Other keys need a restart.
   */
  async reload(values: Record<string, unknown>): Promise<void> {
    if (typeof values.HDD_FSYNC_BEFORE_CLOSE === 'boolean') this.hdd.setFsyncBeforeClose(values.HDD_FSYNC_BEFORE_CLOSE);
    if (typeof values.LABELS === 'string') {
      const l = parseLabels(values.LABELS);
      for (const w of l.warnings) this.log.warn(w);
      this.master.setLabels(l.mask);
    }
    try {
      await this.hdd.reload();
    } catch (e) {
      this.log.error({ err: e }, `reload: ${(e as Error).message}`);
    }
  }

  info(): void {
    const s = this.hdd.space();
    this.log.info(
      { chunks: this.hdd.chunkCount, used: s.used, total: s.total, registered: this.master.isRegistered, connections: this.csserv.connections },
      'chunkserver state',
    );
  }
}
