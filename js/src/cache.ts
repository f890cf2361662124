// Cache: an LRU of decoded slices bounded in entries and in bytes, plus the set of requests in
// flight (de-duplication).

/** What a pooled request asks for: a region and the blocks a side (null: every position). */
export interface Spec {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  bins: number | null;
}

/**
 * Key of one slice: "layer|head|weighting" for a whole [T, T] slice, with "|q0-q1|k0-k1|bins"
 * (bins "exact" when every position is kept) for a region of a pooled run.
 */
export function sliceKey(layer: number, head: number, weighting: string, spec?: Spec | null) {
  const base = `${layer}|${head}|${weighting}`;
  if (!spec) return base;
  return `${base}|${spec.q0}-${spec.q1}|${spec.k0}-${spec.k1}|${spec.bins ?? "exact"}`;
}

/**
 * Least-recently-used map holding at most `capacity` entries and, when `sizeOf` is given, at
 * most `maxBytes` bytes (as `sizeOf` tells them at `set`); the newest entry always stays.
 */
export class LRU<V> {
  private readonly map = new Map<string, V>();
  private readonly sizes = new Map<string, number>();
  private total = 0;
  constructor(
    readonly capacity: number,
    readonly maxBytes = Number.POSITIVE_INFINITY,
    private readonly sizeOf: (v: V) => number = () => 0,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Bytes held, as `sizeOf` counted them. */
  get bytes(): number {
    return this.total;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Get and mark as most recently used. */
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const n = this.sizeOf(value);
    this.map.set(key, value);
    this.sizes.set(key, n);
    this.total += n;
    while (this.map.size > 1 && (this.map.size > this.capacity || this.total > this.maxBytes)) {
      this.delete(this.map.keys().next().value as string);
    }
  }

  private delete(key: string): void {
    this.total -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.sizes.clear();
    this.total = 0;
  }

  /** Every value, oldest first, without marking any as used. */
  values(): IterableIterator<V> {
    return this.map.values();
  }
}

/** Requests sent and not yet answered; entries older than `staleMs` may be sent again. */
export class InFlight {
  private readonly since = new Map<string, number>();
  constructor(readonly staleMs = 10000) {}

  /** Mark `key` as sent at time `now`; false when it is already pending and not stale. */
  begin(key: string, now: number): boolean {
    const t = this.since.get(key);
    if (t !== undefined && now - t < this.staleMs) return false;
    this.since.set(key, now);
    return true;
  }

  has(key: string): boolean {
    return this.since.has(key);
  }

  /** Forget requests older than `staleMs` (lost replies must not block what waits on them). */
  prune(now: number): void {
    for (const [key, t] of this.since) if (now - t >= this.staleMs) this.since.delete(key);
  }

  end(key: string): void {
    this.since.delete(key);
  }

  clear(): void {
    this.since.clear();
  }

  get size(): number {
    return this.since.size;
  }
}
