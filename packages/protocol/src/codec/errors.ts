/**
 * Protocol errors are values, never exceptions that escape the codec: a daemon that meets bad bytes
 * logs the error by its code and closes that one connection.
 */
export type ProtocolErrorCode =
  | 'MFS_PROTO_TRUNCATED' // payload shorter than its layout needs
  | 'MFS_PROTO_TRAILING' // bytes left over after the layout ended
  | 'MFS_PROTO_TOO_BIG' // length field above the link's maximum
  | 'MFS_PROTO_BAD_VALUE' // a field holds a value the layout forbids
  | 'MFS_PROTO_UNKNOWN' // message type not in the catalogue
  | 'MFS_PROTO_NO_VARIANT'; // no layout of the message fits this payload

const brand = Symbol.for('mfs-ts.ProtocolError');

export class ProtocolError extends Error {
  readonly [brand] = true;
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly msgName?: string,
  ) {
    // A value, not a crash: no stack trace (capturing one cost more than the decode itself when a
    // multi-layout message tries its layouts in turn).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(msgName ? `${msgName}: ${message}` : message);
    Error.stackTraceLimit = limit;
    this.name = 'ProtocolError';
  }
  static is(e: unknown): e is ProtocolError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}
export function fail<T = never>(error: ProtocolError): Result<T> {
  return { ok: false, error };
}
