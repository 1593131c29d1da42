/**
 * The master's start-up signals, held from the moment this module loads (startup-signals.ts).
 * main.ts imports it before any other module: every module loaded before it would be
 * time in which SIGHUP, SIGQUIT or SIGUSR2 still kill the master.
 */
import { StartupSignals } from './startup-signals';

export const startupSignals = new StartupSignals().hold();
