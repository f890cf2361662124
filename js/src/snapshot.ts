// Snapshot: the one slice Python keeps in the `snapshot` trait (base64 text, bounded in size)
// so that a notebook saved with its widget state draws the current view again without a
// kernel; and the base64 decoder the exported HTML page shares. Checks shapes, trusts nothing.

import type { Bytes } from "./types";

/** Bytes of a base64 string (throws on malformed input). */
export function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** What the `snapshot` trait holds: a slice reply and its bytes as base64 (or `{}`). */
export interface Snapshot {
  reply: Record<string, unknown>;
  data: string;
  /** learned sink logits: the sink slot's column, base64 (the reply names it buffer 1) */
  slot?: string;
}

function isSnapshot(x: unknown): x is Snapshot {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  const r = s.reply as Record<string, unknown> | undefined;
  return typeof s.data === "string" && typeof r === "object" && r !== null && r.kind === "slice";
}

/**
 * The (message, buffers) pair a slice client handles, for the snapshot in `x`, or null when
 * there is none or it is malformed.
 */
export function snapshotMessage(x: unknown): [Record<string, unknown>, Bytes[]] | null {
  if (!isSnapshot(x)) return null;
  try {
    const slot = typeof x.slot === "string" ? [base64Bytes(x.slot)] : [];
    return [x.reply, [base64Bytes(x.data), ...slot]];
  } catch {
    return null;
  }
}
