/**
 * A tiny typed event emitter: `on` returns the function that unsubscribes, so a caller
 * never has to keep a reference to its listener. A listener that throws does not stop the
 * others, nor the message handling that emitted the event.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private listeners = new Map<keyof Events, Set<Listener>>();

  /** Calls `fn` on every `event` until the returned function is called. */
  on<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn);
    return () => this.off(event, fn);
  }

  /** Calls `fn` on the next `event` only. */
  once<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    const off = this.on(event, ((...args: unknown[]) => {
      off();
      fn(...args);
    }) as Events[K]);
    return off;
  }

  off<K extends keyof Events>(event: K, fn: Events[K]): void {
    this.listeners.get(event)?.delete(fn);
  }

  /** How many listeners `event` has (an "error" with none is worth a console line). */
  listenerCount<K extends keyof Events>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        // A bug in a listener is the application's; it must not break the session, and
        // rethrowing would end a Node process, so it is only reported.
        console.error(`@tickwire/client: a "${String(event)}" listener threw`, err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
