import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** MooseFS role: mfsmaster, mfschunkserver, mfsmetalogger, mfsmount. */
  role: string;
  level?: string;
  /** A file to append to; stderr when absent. */
  file?: string;
  /** Any stream (tests pass one to read the lines back). */
  stream?: DestinationStream;
}

/**
 * One structured line per event. Connection loggers are children bound to `{ peer }` (and a session
 * id where there is one); every protocol line carries the message name as `msg_name`.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env.MFS_LOG_LEVEL ?? 'info';
  const dest = opts.stream ?? pino.destination({ dest: opts.file ?? 2, sync: opts.file === undefined, mkdir: true });
  return pino({ level, base: { role: opts.role, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** A logger that drops everything (library use without logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
