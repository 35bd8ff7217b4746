/**
 * The latency chart of a run: p50 and p99 of write -> edge apply per second, hand-written SVG
 * (no chart library for two lines), with the scenarios marked along the time axis.
 */
import type { TimelinePoint } from './model.js';

export interface ChartPhase {
  name: string;
  fromS: number;
  toS: number;
}

const WIDTH = 900;
const HEIGHT = 360;
const PAD = { left: 64, right: 20, top: 36, bottom: 48 };

export function latencySvg(points: readonly TimelinePoint[], phases: readonly ChartPhase[], title: string): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const lastSecond = Math.max(1, ...points.map((p) => p.second), ...phases.map((p) => p.toS));
  const top = niceCeiling(Math.max(1, ...points.map((p) => (Number.isFinite(p.p99) ? p.p99 : 0))));
  const x = (second: number): number => PAD.left + (second / lastSecond) * plotW;
  const y = (ms: number): number => PAD.top + plotH - (Math.min(ms, top) / top) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`);
  phases.forEach((phase, i) => {
    const from = x(phase.fromS);
    const to = x(phase.toS);
    parts.push(`<rect x="${from.toFixed(1)}" y="${PAD.top}" width="${Math.max(1, to - from).toFixed(1)}" height="${plotH}" fill="${i % 2 ? '#f3f3f3' : '#e8eef7'}"/>`);
    parts.push(`<text x="${((from + to) / 2).toFixed(1)}" y="${PAD.top + 14}" text-anchor="middle" fill="#555">${escape(phase.name)}</text>`);
  });
  for (let i = 0; i <= 5; i++) {
    const value = (top * i) / 5;
    const yy = y(value);
    parts.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end">${trim(value)}</text>`);
  }
  const step = Math.max(1, niceCeiling(lastSecond / 10));
  for (let s = 0; s <= lastSecond; s += step) {
    parts.push(`<text x="${x(s).toFixed(1)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="black"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="black"/>`);
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">seconds since start</text>`);
  parts.push(`<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">write -&gt; edge apply, ms</text>`);
  const line = (field: 'p50' | 'p99', color: string): void => {
    const coords = points.filter((p) => Number.isFinite(p[field])).map((p) => `${x(p.second).toFixed(1)},${y(p[field]).toFixed(1)}`);
    if (coords.length > 0) parts.push(`<polyline class="${field}" fill="none" stroke="${color}" stroke-width="1.5" points="${coords.join(' ')}"/>`);
  };
  line('p50', '#1f77b4');
  line('p99', '#d62728');
  parts.push(`<g transform="translate(${WIDTH - PAD.right - 120} ${PAD.top + 24})"><rect width="110" height="40" fill="white" stroke="#ccc"/>`);
  parts.push('<line x1="8" x2="30" y1="13" y2="13" stroke="#1f77b4" stroke-width="2"/><text x="36" y="17">p50</text>');
  parts.push('<line x1="8" x2="30" y1="30" y2="30" stroke="#d62728" stroke-width="2"/><text x="36" y="34">p99</text></g>');
  if (points.length === 0) parts.push(`<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle" fill="#888">no live deliveries</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** 1, 2 or 5 times a power of ten, at or above `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= value) return factor * power;
  return 10 * power;
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
