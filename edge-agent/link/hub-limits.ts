/**
 * The values a hub's `welcome` sets on the agent, clamped to sane ranges. A hub (or anyone in
 * the middle of a plain `ws://` link) could otherwise ask for anything: an `hb` over 2^31-1 ms
 * overflows Node's timer, which then fires every millisecond (~860 heartbeats a second were
 * measured), an `hb` of 1 ms does the same on purpose, a `max` of 1 byte would stop every
 * upstream frame, and a `ts` far outside the epoch breaks the clock-skew check.
 * protocol/README.md ("What the agent clamps") lists the ranges.
 */
import type { WelcomeFrame } from '../../protocol/index.js';

/** Heartbeat interval the agent keeps, ms: 1 s to 10 min. */
export const HEARTBEAT_RANGE_MS = { min: 1_000, max: 600_000 } as const;
/** Largest frame the hub may say it accepts, bytes: 64 KiB to 64 MiB (what the WebSocket transports allow). */
export const MAX_FRAME_RANGE_BYTES = { min: 64 * 1024, max: 64 * 1024 * 1024 } as const;
/** Hub clock, ms since the epoch: what a JavaScript Date can hold. */
export const CLOCK_RANGE_MS = { min: 0, max: 8.64e15 } as const;

function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, value));
}

/** The welcome as the agent acts on it, and which members it had to clamp (empty when none). */
export function clampWelcome(welcome: WelcomeFrame): { welcome: WelcomeFrame; clamped: Record<string, { asked: number; used: number }> } {
  const used = { hb: clamp(welcome.hb, HEARTBEAT_RANGE_MS), max: clamp(welcome.max, MAX_FRAME_RANGE_BYTES), ts: clamp(welcome.ts, CLOCK_RANGE_MS) };
  const clamped: Record<string, { asked: number; used: number }> = {};
  for (const name of ['hb', 'max', 'ts'] as const) {
    if (used[name] !== welcome[name]) clamped[name] = { asked: welcome[name], used: used[name] };
  }
  return { welcome: { ...welcome, ...used }, clamped };
}
