import {
  RLIMIT_NAMES,
  type CgroupPlan,
  type CommandSandbox,
  type RlimitName,
} from './command-sandbox';
import { WORKER_CONFIG_ENV, type WorkerConfig } from './config';

/*
 * The worker's check of the config the master hands it (in its environment, as JSON).
 * Pure; imported by the worker.
 */

/** What a value was, for an error message. */
function shown(value: unknown): string {
  return value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
}

function field(name: string, problem: string, value: unknown): Error {
  return new Error(`${WORKER_CONFIG_ENV}: ${name} ${problem} (${shown(value)})`);
}

function positiveNumber(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw field(name, 'must be a number greater than 0', value);
  }
  return value;
}

function nonNegativeNumber(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw field(name, 'must be a number of 0 or more', value);
  }
  return value;
}

function positiveInteger(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw field(name, 'must be a whole number of 1 or more', value);
  }
  return value;
}

function boolean(record: Record<string, unknown>, name: string): boolean {
  const value = record[name];
  if (typeof value !== 'boolean') throw field(name, 'must be true or false', value);
  return value;
}

/** Absent (no command), or the command's words: at least one, all strings. */
function commandWords(record: Record<string, unknown>, name: string): string[] | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((word) => typeof word === 'string')
  ) {
    throw field(name, 'must be a non-empty array of strings', value);
  }
  return value;
}

/** An array of strings (maybe empty). */
function stringList(record: Record<string, unknown>, name: string): string[] {
  const value = record[name];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
    throw field(name, 'must be an array of strings', value);
  }
  return value;
}

function nonEmptyString(record: Record<string, unknown>, name: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value === '') throw field(name, 'must be a string', value);
  return value;
}

/** Absent, or variable names to string values. */
function stringRecord(
  record: Record<string, unknown>,
  name: string,
): Record<string, string> | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((entry) => typeof entry === 'string')
  ) {
    throw field(name, 'must be an object of strings', value);
  }
  return value as Record<string, string>;
}

/** Absent, or a whole number of `least` or more. */
function optionalWhole(
  record: Record<string, unknown>,
  name: string,
  least: number,
): number | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < least) {
    throw field(name, `must be a whole number of ${least} or more`, value);
  }
  return value;
}

function object(record: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = record[name];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw field(name, 'must be an object', value);
  }
  return value as Record<string, unknown>;
}

/** Absent, or where client cgroups go and their limits. */
function cgroupPlan(record: Record<string, unknown>, name: string): CgroupPlan | undefined {
  if (record[name] === undefined) return undefined;
  const plan = object(record, name);
  const version = plan.version;
  if (version !== 1 && version !== 2) throw field(`${name}.version`, 'must be 1 or 2', version);
  const cpuMax = plan.cpuMax;
  if (cpuMax !== undefined && (typeof cpuMax !== 'string' || !/^\d+ \d+$/.test(cpuMax))) {
    throw field(`${name}.cpuMax`, 'must be "QUOTA PERIOD"', cpuMax);
  }
  return {
    version,
    parents: stringList(plan, 'parents'),
    pidsMax: optionalWhole(plan, 'pidsMax', 1),
    memoryMax: optionalWhole(plan, 'memoryMax', 1),
    cpuMax,
  };
}

/** How commands are confined: every part checked, so that no limit is quietly lost. */
function commandSandbox(record: Record<string, unknown>, name: string): CommandSandbox | undefined {
  if (record[name] === undefined) return undefined;
  const sandbox = object(record, name);
  const rlimits = object(sandbox, 'rlimits');
  const checked: CommandSandbox['rlimits'] = {};
  for (const key of Object.keys(rlimits)) {
    if (!(RLIMIT_NAMES as readonly string[]).includes(key))
      throw field(`${name}.rlimits`, 'has an unknown limit', key);
    checked[key as RlimitName] = optionalWhole(rlimits, key, 0);
  }
  const user = sandbox.user === undefined ? undefined : object(sandbox, 'user');
  const tools = stringRecord(sandbox, 'tools') ?? {};
  return {
    user: user && {
      uid: optionalWhole(user, 'uid', 0) ?? 0,
      gid: optionalWhole(user, 'gid', 0) ?? 0,
    },
    rlimits: checked,
    nproc: optionalWhole(sandbox, 'nproc', 1),
    lineBuffered: boolean(sandbox, 'lineBuffered'),
    tools: { prlimit: tools.prlimit, stdbuf: tools.stdbuf, setpriv: tools.setpriv },
    cgroup: cgroupPlan(sandbox, 'cgroup'),
  };
}

/** Every field of WorkerConfig, once: the compiler refuses a missing or an extra one. */
const WORKER_CONFIG_FIELDS: ReadonlySet<string> = new Set(
  Object.keys({
    intervalMin: true,
    intervalMax: true,
    maxMessageSize: true,
    pingInterval: true,
    exec: true,
    demo: true,
    maxBuffered: true,
    debug: true,
    commandEnv: true,
    memoryLimitMb: true,
    passenv: true,
    quitWords: true,
    binary: true,
    closeMs: true,
    reverseLookup: true,
    serverSoftware: true,
    maxLifetime: true,
    idleTimeout: true,
    sandbox: true,
  } satisfies Record<keyof WorkerConfig, true>),
);

/**
 * The worker's config, from the JSON the master put in its environment, checked field
 * by field: a missing or mistyped field must stop the worker with a clear reason, not
 * quietly turn a limit off (a missing maxMessageSize used to disable the size check).
 * Throws an Error naming the field. Pure.
 */
export function parseWorkerConfig(text: string | undefined): WorkerConfig {
  if (text === undefined) {
    throw new Error(`${WORKER_CONFIG_ENV} is not set (a worker is started by the master)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${WORKER_CONFIG_ENV} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${WORKER_CONFIG_ENV} must be a JSON object`);
  }
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => !WORKER_CONFIG_FIELDS.has(key));
  if (unknown !== undefined) throw new Error(`${WORKER_CONFIG_ENV}: unknown field ${unknown}`);
  const intervalMin = positiveNumber(record, 'intervalMin');
  const intervalMax = positiveNumber(record, 'intervalMax');
  if (intervalMax < intervalMin) {
    throw field('intervalMax', `must not be below intervalMin (${intervalMin})`, intervalMax);
  }
  return {
    intervalMin,
    intervalMax,
    maxMessageSize: positiveInteger(record, 'maxMessageSize'),
    pingInterval: nonNegativeNumber(record, 'pingInterval'),
    exec: commandWords(record, 'exec'),
    demo: boolean(record, 'demo'),
    maxBuffered: positiveInteger(record, 'maxBuffered'),
    debug: boolean(record, 'debug'),
    commandEnv: stringRecord(record, 'commandEnv'),
    memoryLimitMb: nonNegativeNumber(record, 'memoryLimitMb'),
    passenv: stringList(record, 'passenv'),
    quitWords: stringList(record, 'quitWords'),
    binary: boolean(record, 'binary'),
    closeMs: nonNegativeNumber(record, 'closeMs'),
    reverseLookup: boolean(record, 'reverseLookup'),
    serverSoftware: nonEmptyString(record, 'serverSoftware'),
    maxLifetime: nonNegativeNumber(record, 'maxLifetime'),
    idleTimeout: nonNegativeNumber(record, 'idleTimeout'),
    sandbox: commandSandbox(record, 'sandbox'),
  };
}
