/** Stable codes for what the failover kit can fail at. */
export type FailoverErrorCode =
  | 'FO_BAD_CLUSTER' // the cluster description is invalid
  | 'FO_USAGE' // wrong command line
  | 'FO_NO_METADATA' // a standby has no metalogger metadata to promote from
  | 'FO_COMMAND_FAILED' // a daemon start/stop command failed
  | 'FO_TIMEOUT'; // a daemon did not become ready in time

const BRAND = Symbol.for('mfs-ts.failover.error');

export class FailoverError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: FailoverErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FailoverError';
  }

  static is(e: unknown): e is FailoverError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  }
}
