import type { BusListener, EventBus } from './bus';
import type { BusMessage } from './bus-message';

/**
 * The embedded database's bus: one process owns DATA_DIR (the CLI runs only
 * while the server is stopped), so every writer is in this process and a
 * message is delivered to its listeners directly, after the current turn.
 */
export class LocalBus implements EventBus {
  private readonly listeners = new Set<BusListener>();
  private started = false;
  readonly external = false;

  get listening(): boolean {
    return this.started;
  }

  publish(message: BusMessage): void {
    if (!this.started) return;
    setImmediate(() => {
      for (const listener of this.listeners) listener.message?.(message);
    });
  }

  listen(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.started = true;
    for (const listener of this.listeners) listener.connected?.();
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const listener of this.listeners) listener.disconnected?.();
  }
}
