// Vitest glue, kept apart from the lab itself so scripts can use the lab without vitest loaded.
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { createLab, labUnavailableReason, type Lab, type LabOptions } from './lab.js';
import type { Impl } from './daemons.js';

/**
 * `describe` that skips, with the reason printed once, when lab tests cannot run here (not root,
 * binaries missing). On CI (`CI` set) a missing prerequisite fails instead: there the tests must run.
 */
export function describeLab(name: string, fn: () => void, impl: Impl = 'real'): void {
  const reason = labUnavailableReason(impl);
  if (reason && process.env.CI) {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`lab tests cannot run on this CI machine: ${reason}`);
      });
      fn();
    });
    return;
  }
  if (reason) console.warn(`[lab] skipping "${name}": ${reason}`);
  describe.skipIf(reason !== undefined)(name, fn);
}

/**
 * Runs `fn` in a fresh lab, prints every log when it throws, and tears down in `finally` (a teardown
 * failure is reported only when `fn` itself succeeded, so it never hides the first error).
 */
export async function withLab<T>(opts: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createLab(opts);
  let ok = false;
  try {
    const v = await fn(lab);
    ok = true;
    return v;
  } catch (e) {
    lab.failed = true;
    lab.printLogs();
    throw e;
  } finally {
    try {
      await lab.teardown();
    } catch (e) {
      if (ok) throw e;
      console.error(`[lab] teardown after failure: ${(e as Error).message}`);
    }
  }
}

/**
 * One lab shared by the tests of a `describe` block: created in beforeAll, torn down in afterAll;
 * when a test fails its logs are printed after it. Call inside `describe`; use the returned getter
 * in tests.
 */
export function useLab(opts: LabOptions = {}): () => Lab {
  let lab: Lab | undefined;
  let failedHere = false;
  beforeAll(async () => {
    lab = await createLab(opts);
  });
  afterEach((ctx) => {

    if (lab && ctx.task.result?.state === 'fail') {
      failedHere = true;
      lab.failed = true;
      lab.printLogs();
    }
  });
  afterAll(async () => {
    if (!lab) return;
    try {
      await lab.teardown();
    } catch (e) {
      if (!failedHere) throw e;
      console.error(`[lab] teardown after failure: ${(e as Error).message}`);
    }
  });
  return () => {
    if (!lab) throw new Error('useLab(): the lab exists only inside tests (after beforeAll)');
    return lab;
  };
}
