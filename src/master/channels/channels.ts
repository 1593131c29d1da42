import type { ServerConfig } from '../../shared/config';
import { createBroker } from '../broker';
import type { Broker, BrokerState } from '../broker/types';
import type { Logger } from '../observability/logger';
import { ChannelCommandRunner } from './channel-command';
import { ChannelRelay } from './channel-relay';
import { Publisher } from './publisher';

/**
 * Channels, wired: the broker (Redis with --redis, else in memory), the relay to this
 * instance's clients, the publisher behind POST /publish, and the --channel-exec
 * commands. Only the master talks to Redis.
 */
export class Channels {
  readonly broker: Broker;
  readonly relay: ChannelRelay;
  readonly publisher: Publisher;
  private readonly runners: ChannelCommandRunner[];

  /** `instanceId`: kept across a hot upgrade (global client ids stay valid); else a new one. */
  constructor(config: ServerConfig, logger: Logger, instanceId?: string) {
    this.broker = createBroker({
      redis: config.redis,
      instanceId,
      history: { size: config.history, ttlMs: config.historyTtl * 1000 },
      idempotencyWindowMs: config.idempotencyWindow * 1000,
      logger,
    });
    this.relay = new ChannelRelay(this.broker, logger);
    this.publisher = new Publisher(this.broker, this.relay);
    this.runners = config.channelExec.map(
      (command) =>
        new ChannelCommandRunner(
          command,
          (channel, line) => this.broker.publish(channel, line),
          config.maxMessageSize,
          logger,
          config.passenv,
          config.sandbox?.command,
        ),
    );
  }

  get backplane(): BrokerState {
    return this.broker.state;
  }

  /** Calls back with whether publishing works: always with the in-memory broker. */
  onBackplane(listener: (up: boolean) => void): void {
    listener(this.broker.state !== 'down');
    this.broker.on('state', (state) => listener(state !== 'down'));
  }

  start(): void {
    for (const runner of this.runners) runner.start();
  }

  /** A hot upgrade: the new master runs the --channel-exec commands from now on. */
  async stopCommands(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
    await this.broker.close();
  }
}
