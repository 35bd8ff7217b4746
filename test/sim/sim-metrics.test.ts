/** The simulator's measuring parts: the mergeable latency histogram and the hub's /metrics parser. */
import { expect, it } from 'vitest';
import { LatencyHistogram } from '../../sim/metrics/latency-histogram.js';
import { parsePrometheus } from '../../sim/metrics/hub-metrics.js';
import { LatencyTimeline } from '../../sim/metrics/timeline.js';

it('reads percentiles back within one 2 % bucket, and merges losslessly', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let ms = 1; ms <= 1000; ms++) (ms % 2 ? a : b).record(ms);
  const merged = LatencyHistogram.from(a.toJSON());
  merged.merge(b);
  expect(merged.count).toBe(1000);
  expect(merged.max).toBe(1000);
  for (const [p, exact] of [[50, 500], [90, 900], [99, 990]] as const) {
    expect(Math.abs(merged.percentile(p) - exact) / exact).toBeLessThanOrEqual(0.021);
  }
  expect(merged.mean).toBeCloseTo(500.5, 5);
  expect(new LatencyHistogram().percentile(99)).toBeNaN();
});

it('keeps latency per wall-clock second and hands out deltas', () => {
  const timeline = new LatencyTimeline();
  timeline.record(10_100, 5);
  timeline.record(10_900, 7);
  timeline.record(11_000, 50);
  const delta = timeline.drain();
  expect(timeline.isEmpty).toBe(true);
  const main = new LatencyTimeline();
  main.merge(delta);
  expect(main.entries().map(([second, h]) => [second, h.count])).toEqual([[10, 2], [11, 1]]);
  expect(main.between(10_000, 10_999).count).toBe(2);
});

it('sums Prometheus samples per name and per label', () => {
  const values = parsePrometheus(
    [
      '# HELP edge_hub_frames_total frames',
      'edge_hub_frames_total{type="sync",direction="out"} 5',
      'edge_hub_frames_total{type="welcome",direction="out"} 2',
      'edge_hub_frames_total{type="hello",direction="in"} 3',
      'edge_hub_process_resident_memory_bytes 1048576',
      'edge_hub_resyncs_total{result="equal"} 7',
    ].join('\n'),
  );
  expect(values.get('edge_hub_frames_total')).toBe(10);
  expect(values.get('edge_hub_frames_total:direction=out')).toBe(7);
  expect(values.get('edge_hub_resyncs_total:result=equal')).toBe(7);
  expect(values.get('edge_hub_process_resident_memory_bytes')).toBe(1048576);
});
