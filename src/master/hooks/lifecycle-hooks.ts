import type { HookTarget, LifecycleSettings } from '../../shared/config';
import type { ClientLifecycle } from '../clients/client-lifecycle';
import { hookBody, hookEnvironment, hookOf, type HookEvent } from './hook-event';
import type { HookRunner } from './hook-runner';

/**
 * --on-connect, --on-disconnect and --on-channel: each event of the client lifecycle
 * (and each channel occupied or vacated) becomes one run of its hook, if the flag is set.
 */
export class LifecycleHooks {
  constructor(
    private readonly settings: LifecycleSettings,
    private readonly runner: HookRunner,
    private readonly instanceId: () => string,
  ) {}

  /** Whether any hook is set (nothing to listen to otherwise). */
  get any(): boolean {
    const { onConnect, onDisconnect, onChannel } = this.settings;
    return onConnect !== undefined || onDisconnect !== undefined || onChannel !== undefined;
  }

  listen(lifecycle: ClientLifecycle): void {
    if (this.settings.onConnect !== undefined) {
      lifecycle.on('connected', (client) => this.tell({ event: 'connect', client }));
    }
    if (this.settings.onDisconnect !== undefined) {
      lifecycle.on('ended', (client) => this.tell({ event: 'disconnect', client }));
    }
  }

  /** Runs the hook for `event`, when its flag is set. */
  tell(event: HookEvent): void {
    const target = this.targetOf(event);
    if (target === undefined) return;
    const instance = this.instanceId();
    this.runner.run({
      hook: hookOf(event),
      target,
      env: hookEnvironment(event, instance),
      body: hookBody(event, instance),
    });
  }

  private targetOf(event: HookEvent): HookTarget | undefined {
    switch (hookOf(event)) {
      case 'connect':
        return this.settings.onConnect;
      case 'disconnect':
        return this.settings.onDisconnect;
      case 'channel':
        return this.settings.onChannel;
    }
  }
}
