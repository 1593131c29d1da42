/**
 * SIGHUP, SIGQUIT and SIGUSR2 between the master's start and its ready line. Node's
 * default action for each is to end the process: a `systemctl reload` (or a drain, a
 * config reload) that came while the master was still starting (reading a --config
 * file, loading its modules, taking a hot upgrade over) killed it. Held from the first
 * module main.ts loads, each is acted on once the master is ready (`ready`):
 *
 * - SIGHUP: deferred. The start may have read the config file before the change the
 *   sender meant; a reload once ready costs at most a re-read that changes nothing.
 * - SIGQUIT: deferred. The master drains once ready (with no client, it stops at once).
 * - SIGUSR2: ignored, with a log line. The master that is starting is already running
 *   the code on disk: an upgrade right away would start the same code a second time, at
 *   the most expensive moment; the operator sends it again if a newer build has landed.
 *
 * Signals that arrive before Node runs any JavaScript (the first tens of ms) still get
 * the default action: nothing in the process can catch them yet.
 */
import { assertNever } from '../../shared/assert-never';
import type { Logger } from '../observability/logger';

export const STARTUP_SIGNALS = ['SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const;
export type StartupSignal = (typeof STARTUP_SIGNALS)[number];

/** What the ready master does on each signal from now on. */
export type SignalActions = Record<StartupSignal, () => void>;

export class StartupSignals {
  /** Signals received while starting, in order of their first arrival. */
  private readonly pending = new Set<StartupSignal>();
  private actions: SignalActions | undefined;

  /**
   * Installs one handler per signal for the process's life (the earlier, the smaller
   * the window left): until `ready` has taken effect it holds the signal, then it acts.
   */
  hold(): this {
    for (const signal of STARTUP_SIGNALS) {
      process.on(signal, () => {
        if (this.actions === undefined) this.pending.add(signal);
        else this.actions[signal]();
      });
    }
    return this;
  }

  /**
   * The master is ready: `actions` handle each signal from now on, and those that came
   * while starting are acted on as the header says.
   *
   * Hazard: a signal that came while the master was blocked (a --config FIFO read with
   * readFileSync) waits in libuv until the loop polls again; the switch is made a full
   * loop turn later (two setImmediates: a poll phase between them), so that such a
   * signal still counts as one of the start.
   */
  ready(actions: SignalActions, logger: Pick<Logger, 'info' | 'warn'>): void {
    setImmediate(() =>
      setImmediate(() => {
        this.actions = actions;
        for (const signal of this.pending) this.actOnHeld(signal, actions, logger);
        this.pending.clear();
      }),
    );
  }

  private actOnHeld(
    signal: StartupSignal,
    actions: SignalActions,
    logger: Pick<Logger, 'info' | 'warn'>,
  ): void {
    switch (signal) {
      case 'SIGHUP':
        logger.info('Received SIGHUP while starting: reading the configuration again now');
        actions.SIGHUP();
        return;
      case 'SIGQUIT':
        logger.info('Received SIGQUIT while starting: draining now that the master is ready');
        actions.SIGQUIT();
        return;
      case 'SIGUSR2':
        logger.warn(
          'Received SIGUSR2 while starting: ignored (this master has just loaded the code ' +
            'on disk); send it again to upgrade',
        );
        return;
      default:
        assertNever(signal);
    }
  }
}
