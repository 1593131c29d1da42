import { spawn } from 'node:child_process';
import type { HookTarget } from '../../shared/config';
import { passEnvironment } from '../../shared/pass-environment';
import { signalGroup } from '../../shared/process-group';
import type { HookName } from './hook-event';

/** How one hook run ended (the `outcome` label of push_websocket_hook_runs_total). */
export type HookOutcome = 'ok' | 'failed' | 'timeout' | 'dropped';

/** One run: what to run, and what to tell it. */
export interface HookJob {
  hook: HookName;
  target: HookTarget;
  /** A command's own variables (added to what --passenv lets through). */
  env: Record<string, string>;
  /** A URL's JSON body. */
  body: Record<string, unknown>;
}

export interface HookRunnerOptions {
  timeoutMs: number;
  /** Runs at once (default 4). */
  concurrency?: number;
  /** Runs waiting for a free slot; past it, new runs are dropped (default 1000). */
  queueLimit?: number;
  /** --passenv: the server variables a command may see. */
  passenv: readonly string[];
  /** Counted for /metrics. */
  counted: (hook: HookName, outcome: HookOutcome) => void;
  /** Where failures are told (one line each, at most one a second per hook at warn). */
  warn: (line: string) => void;
  debug: (line: string) => void;
}

/** Characters of a failing command's stderr kept for its log line. */
const STDERR_KEPT = 300;
/** A hook failing often is told at warn once per this many ms, the rest at debug. */
const WARN_EVERY_MS = 1000;

/**
 * Runs lifecycle hooks apart from everything else: a run is queued and returns at once,
 * so a slow or failing hook never delays a handshake or a publish. At most
 * `concurrency` run at once; at most `queueLimit` wait (more are dropped: logged,
 * counted). Each run has `timeoutMs`: a command's whole process group is then killed
 * (SIGKILL), a URL's request aborted. A command runs without a shell, in a process
 * group of its own, with no stdin or stdout; a URL gets a POST of JSON, and any 2xx
 * counts as success (no redirect is followed).
 */
export class HookRunner {
  private readonly queue: HookJob[] = [];
  private running = 0;
  private readonly concurrency: number;
  private readonly queueLimit: number;
  private readonly lastWarn = new Map<HookName, number>();
  private readonly idle: (() => void)[] = [];
  private readonly groups = new Set<number>();

  constructor(private readonly options: HookRunnerOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.queueLimit = options.queueLimit ?? 1000;
  }

  /** Runs waiting and running now. */
  get pending(): number {
    return this.queue.length + this.running;
  }

  run(job: HookJob): void {
    if (this.running < this.concurrency) {
      this.start(job);
      return;
    }
    if (this.queue.length >= this.queueLimit) {
      this.finish(job, 'dropped', `queue full (${this.queueLimit} waiting)`);
      return;
    }
    this.queue.push(job);
  }

  /**
   * Resolves once every queued and running hook has ended (each is bounded by the
   * timeout), or after `boundMs`: then running commands' groups are killed.
   */
  async drain(boundMs: number): Promise<void> {
    if (this.pending === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs))),
    ]);
    clearTimeout(timer);
    for (const group of this.groups) signalGroup(group, 'SIGKILL');
  }

  private start(job: HookJob): void {
    this.running++;
    const done = (outcome: HookOutcome, detail?: string): void => {
      this.running--;
      this.finish(job, outcome, detail);
      const next = this.queue.shift();
      if (next !== undefined) this.start(next);
      else if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    const target = job.target;
    switch (target.kind) {
      case 'command':
        this.command(target.argv, job.env, done);
        return;
      case 'url':
        void this.post(target.url, job.body, done);
        return;
    }
  }

  private command(
    argv: string[],
    facts: Record<string, string>,
    done: (outcome: HookOutcome, detail?: string) => void,
  ): void {
    let settled = false;
    const settle = (outcome: HookOutcome, detail?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(outcome, detail);
    };
    const env = { ...passEnvironment(process.env, this.options.passenv), ...facts };
    const child = spawn(argv[0], argv.slice(1), {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // a process group of its own: a timeout ends all of it
    });
    const pid = child.pid;
    if (pid !== undefined) this.groups.add(pid);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEPT) stderr += chunk;
    });
    const timer = setTimeout(() => {
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      settle('timeout', `killed after ${this.options.timeoutMs} ms`);
    }, this.options.timeoutMs);
    child.on('error', (error) => settle('failed', error.message));
    child.on('close', (code, signal) => {
      if (pid !== undefined) this.groups.delete(pid);
      if (code === 0) return settle('ok');
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const said = firstLine(stderr);
      settle('failed', said === '' ? how : `${how}: ${said}`);
    });
  }

  private async post(
    url: string,
    body: Record<string, unknown>,
    done: (outcome: HookOutcome, detail?: string) => void,
  ): Promise<void> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'push-websocket hook' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) done('ok');
      else done('failed', `HTTP ${response.status}`);
    } catch (error) {
      if (signal.aborted) done('timeout', `no answer within ${this.options.timeoutMs} ms`);
      else done('failed', describeFetchError(error));
    }
  }

  private finish(job: HookJob, outcome: HookOutcome, detail?: string): void {
    this.options.counted(job.hook, outcome);
    if (outcome === 'ok') return;
    // The target is not named: a URL may hold credentials.
    const line = `Hook --on-${job.hook} (${String(job.body.event)}) ${outcome}: ${detail ?? ''}`;
    const now = Date.now();
    const last = this.lastWarn.get(job.hook);
    if (last !== undefined && now - last < WARN_EVERY_MS) {
      this.options.debug(line);
      return;
    }
    this.lastWarn.set(job.hook, now);
    this.options.warn(line);
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].trim().slice(0, 200);
}

/** fetch's "fetch failed" with its cause (ECONNREFUSED...), never the URL. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
