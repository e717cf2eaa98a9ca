import { readFileSync } from 'node:fs';

/**
 * MooseFS config files (`mfsmaster.cfg`, `mfschunkserver.cfg`, ...): `KEY = VALUE` lines, `#` at the
 * start of a line for comments, the value running to the end of the line with trailing blanks cut,
 * a later line overriding an earlier one (mfscommon/cfg.c). MooseFS reads numbers with strtol and
 * takes garbage as 0; we refuse a bad value at start, naming the key.
 */
export class ConfigError extends Error {
  readonly code = 'MFS_CONFIG';
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface CfgWarning {
  line: number;
  message: string;
}

/** Parses cfg text into key -> raw value. Malformed lines become warnings, as in MooseFS. */
export function parseCfgText(text: string, file = 'config'): { values: Map<string, string>; warnings: CfgWarning[] } {
  const values = new Map<string, string>();
  const warnings: CfgWarning[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.replace(/\r$/, '');
    if (raw.startsWith('#')) continue;
    const m = /^[ \t]*([!-<>-~]+)[ \t]*=[ \t]*(.*?)[ ]*$/.exec(raw);
    if (!m) {
      if (raw.trim() !== '' && !raw.trim().startsWith('#')) {
        warnings.push({ line: n + 1, message: `bad definition in config file '${file}': ${raw}` });
      }
      continue;
    }
    values.set(m[1]!, m[2]!);
  }
  return { values, warnings };
}

export type CfgType = 'string' | 'int' | 'uint' | 'float' | 'bool';

export interface CfgKey<T> {
  type: CfgType;
  default: T;
  /** Extra validation; return an error message to refuse the value. */
  check?: (v: T) => string | undefined;
  /** Read again on reload (SIGHUP); false = needs a restart. */
  reloadable?: boolean;
}

export type CfgSchema = Record<string, CfgKey<any>>;
export type CfgValues<S extends CfgSchema> = { readonly [K in keyof S]: S[K]['default'] };

export function str(def: string, opts: Partial<CfgKey<string>> = {}): CfgKey<string> {
  return { type: 'string', default: def, reloadable: true, ...opts };
}
export function int(def: number, opts: Partial<CfgKey<number>> = {}): CfgKey<number> {
  return { type: 'int', default: def, reloadable: true, ...opts };
}
export function uint(def: number, opts: Partial<CfgKey<number>> = {}): CfgKey<number> {
  return { type: 'uint', default: def, reloadable: true, ...opts };
}
export function float(def: number, opts: Partial<CfgKey<number>> = {}): CfgKey<number> {
  return { type: 'float', default: def, reloadable: true, ...opts };
}
/** MooseFS booleans are numbers (0/1); we also take yes/no/true/false. */
export function bool(def: boolean, opts: Partial<CfgKey<boolean>> = {}): CfgKey<boolean> {
  return { type: 'bool', default: def, reloadable: true, ...opts };
}

function parseInt0(s: string): number | undefined {
  // strtol base 0: 0x.. hex, 0.. octal, else decimal.
  const t = s.trim();
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
  if (/^[+-]?0[0-7]+$/.test(t)) return Number.parseInt(t, 8);
  if (/^[+-]?\d+$/.test(t)) return Number.parseInt(t, 10);
  return undefined;
}

function convert(key: string, k: CfgKey<any>, raw: string): unknown {
  switch (k.type) {
    case 'string':
      return raw;
    case 'int':
    case 'uint': {
      const v = parseInt0(raw);
      if (v === undefined || (k.type === 'uint' && v < 0)) {
        throw new ConfigError(`config: ${key} = '${raw}' is not a${k.type === 'uint' ? ' non-negative' : 'n'} integer`, key);
      }
      return v;
    }
    case 'float': {
      const v = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`config: ${key} = '${raw}' is not a number`, key);
      return v;
    }
    case 'bool': {
      const t = raw.trim().toLowerCase();
      if (['1', 'yes', 'y', 'true', 'on'].includes(t)) return true;
      if (['0', 'no', 'n', 'false', 'off'].includes(t)) return false;
      const v = parseInt0(t);
      if (v !== undefined) return v !== 0;
      throw new ConfigError(`config: ${key} = '${raw}' is not a boolean (0 or 1)`, key);
    }
  }
}

export interface LoadedCfg<S extends CfgSchema> {
  values: CfgValues<S>;
  /** Keys present in the file that the schema does not know. */
  unknown: string[];
  warnings: string[];
  /** The file, or undefined when it was missing and defaults were used. */
  path: string | undefined;
}

/** Applies a schema to raw values: defaults for missing keys, a ConfigError for a bad value. */
export function applyCfgSchema<S extends CfgSchema>(schema: S, raw: Map<string, string>): { values: CfgValues<S>; unknown: string[] } {
  const out: Record<string, unknown> = {};
  for (const [key, k] of Object.entries(schema)) {
    const r = raw.get(key);
    const v = r === undefined ? k.default : convert(key, k, r);
    if (k.check) {
      const msg = k.check(v);
      if (msg) throw new ConfigError(`config: ${key} = '${r ?? String(k.default)}': ${msg}`, key);
    }
    out[key] = v;
  }
  const unknown = [...raw.keys()].filter((key) => !(key in schema));
  return { values: Object.freeze(out) as CfgValues<S>, unknown };
}

/**
 * Loads a cfg file against a schema. A missing file gives the defaults (MooseFS: "can't load config
 * file ... - using defaults") unless `required`.
 */
export function loadCfgFile<S extends CfgSchema>(schema: S, path: string, required = false): LoadedCfg<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' && !required) {
      const { values, unknown } = applyCfgSchema(schema, new Map());
      return { values, unknown, warnings: [`can't load config file: ${path} - using defaults`], path: undefined };
    }
    throw new ConfigError(`can't load config file: ${path}: ${err.message}`);
  }
  const parsed = parseCfgText(text, path);
  const { values, unknown } = applyCfgSchema(schema, parsed.values);
  return { values, unknown, warnings: parsed.warnings.map((w) => `${path}:${w.line}: ${w.message}`), path };
}

/** Parses a MooseFS size such as `256MiB`, `4GB`, `1T`, `10%`-free forms are the caller's business. */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGTPE]?)(i?)[bB]?\s*$/.exec(s);
  if (!m) return undefined;
  const exp = ' kMGTPE'.indexOf(m[2]!.toUpperCase() === 'K' ? 'k' : m[2]!.toUpperCase());
  const base = m[3] ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** Math.max(0, m[2] ? exp : 0));
}
