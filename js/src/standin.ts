// Stand-in model (no kernel): the anywidget model API the view uses (get, set, on, off,
// save_changes, send) over a plain traits object. The exported page (standalone.ts) answers
// slice requests from its embedded bytes, the dev harness (js/dev/fake_model.ts) from
// synthesised attention; both extend this class.

import type { Settled, SliceRequest, Traits, WidgetModel } from "./types";

// biome-ignore lint/suspicious/noExplicitAny: handlers of every signature live in one map
type Cb = (...args: any[]) => void;

export abstract class StandInModel implements WidgetModel {
  private readonly handlers = new Map<string, Set<Cb>>();

  /** `state` is the traits object itself (not a copy): set() writes into it. */
  constructor(protected readonly state: Traits) {}

  get<K extends keyof Traits>(name: K): Traits[K] {
    return this.state[name];
  }

  /** Set a trait and tell its listeners, as a kernel echo would; no-op when unchanged. */
  set<K extends keyof Traits>(name: K, value: Traits[K]): void {
    if (JSON.stringify(this.state[name]) === JSON.stringify(value)) return;
    this.state[name] = value;
    this.emit(`change:${name}`);
    this.changed(name);
  }

  save_changes(): void {}

  on(event: string, cb: Cb): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(cb);
  }

  off(event?: string | null, cb?: Cb | null): void {
    if (!event) this.handlers.clear();
    else if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }

  /** Call every listener of `event` (a custom message: `emit("msg:custom", msg, buffers)`). */
  emit(event: string, ...args: unknown[]): void {
    for (const cb of [...(this.handlers.get(event) ?? [])]) cb(...args);
  }

  /** Listeners registered, over every event (a view's cleanup leaves none). */
  listenerCount(): number {
    let n = 0;
    for (const s of this.handlers.values()) n += s.size;
    return n;
  }

  /** Called after trait `name` changed and its listeners ran. */
  protected changed(_name: keyof Traits): void {}

  /** A slice request from the view: answer it with emit("msg:custom", ...) as a kernel would. */
  abstract send(content: SliceRequest | Settled): void;
}
