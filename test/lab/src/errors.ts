/** Stable codes for everything the lab can fail at; tests can match on `code`. */
export type LabErrorCode =
  | 'MFSL_COMMAND_FAILED' // a command exited non-zero (or by a signal)
  | 'MFSL_TIMEOUT' // a readiness condition did not hold in time
  | 'MFSL_DAEMON_EXITED' // a daemon exited while we waited for it to become ready
  | 'MFSL_NO_SUBNET' // every lab subnet is taken
  | 'MFSL_TEARDOWN' // something was left behind after teardown
  | 'MFSL_USAGE'; // the lab was used wrongly (unknown host, lab already torn down...)

const BRAND = Symbol.for('mfs-ts.lab.error');

export class LabError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: LabErrorCode,
    message: string,
    readonly details?: string,
  ) {
    super(details ? `${message}\n${details}` : message);
    this.name = 'LabError';
  }

  static is(e: unknown): e is LabError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  }
}
