/** containerLogs on the agent's kubelet API, over real process-runtime containers and their real log files. */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { makePod, sh } from '../runtime/helpers.js';
import { KubeletHarness, get, readUntil, waitText } from './helpers.js';

const harnesses: KubeletHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.stop();
});

async function harness(overrides: ConstructorParameters<typeof KubeletHarness>[0] = {}): Promise<KubeletHarness> {
  const created = new KubeletHarness(overrides);
  harnesses.push(created);
  return created.start();
}

function logsUrl(h: KubeletHarness, pod: string, container: string, query = ''): string {
  return `${h.url}/containerLogs/default/${pod}/${container}${query ? `?${query}` : ''}`;
}

describe('containerLogs', () => {
  it('serves the log, tailLines, limitBytes and timestamps', async () => {
    const h = await harness();
    await h.run(makePod({ name: 'web', containers: [sh('main', 'for i in 1 2 3 4 5; do echo line-$i; done; exec sleep 60')] }), 'main');
    const all = await waitText(async () => (await get(logsUrl(h, 'web', 'main'))).body, 'line-5');
    expect(all).toBe('line-1\nline-2\nline-3\nline-4\nline-5\n');
    expect((await get(logsUrl(h, 'web', 'main', 'tailLines=2'))).body).toBe('line-4\nline-5\n');
    expect((await get(logsUrl(h, 'web', 'main', 'tailLines=0'))).body).toBe('');
    expect((await get(logsUrl(h, 'web', 'main', 'tailLines=100'))).body).toBe(all);
    expect((await get(logsUrl(h, 'web', 'main', 'limitBytes=9'))).body).toBe('line-1\nli');
    const stamped = (await get(logsUrl(h, 'web', 'main', 'timestamps=true&tailLines=1'))).body;
    // RFC3339 (nanosecond precision as Go prints it) then the line.
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line-5\n$/);
  });

  it('follows: a line written after the request arrives on the open response', async () => {
    const h = await harness();
    const trigger = path.join(h.runtime.dataDir, 'trigger');
    writeFileSync(trigger, '');
    // The container prints "late" once the test touches the trigger file, after the follower is reading.
    await h.run(makePod({ name: 'f', containers: [sh('main', `echo early; while ! grep -q go ${trigger}; do sleep 0.05; done; echo late; exec sleep 60`)] }), 'main');
    await waitText(async () => (await get(logsUrl(h, 'f', 'main'))).body, 'early');
    const followed = await readUntil(
      logsUrl(h, 'f', 'main', 'follow=true'),
      (text) => text.includes('late'),
      () => appendFileSync(trigger, 'go\n'),
    );
    expect(followed).toBe('early\nlate\n');
  });

  it('follows across a rotation (copy then truncate) without losing or repeating lines', async () => {
    // Rotate past 2 KB: the container writes ~60 B lines, ~4 KB in all, slowly enough to be followed.
    const h = await harness({ logMaxBytes: 2048, logFiles: 3, pollIntervalMs: 50 });
    await h.run(makePod({ name: 'r', containers: [sh('main', 'i=0; while [ $i -lt 70 ]; do i=$((i+1)); printf "line %03d %s\\n" $i 0123456789012345678901234567890123456789012345; sleep 0.02; done; echo done; exec sleep 60')] }), 'main');
    const followed = await readUntil(logsUrl(h, 'r', 'main', 'follow=true'), (text) => text.includes('done\n'));
    // The log was rotated while it was followed.
    const podDir = path.dirname(h.runtime.states()[0]!.file);
    expect(existsSync(path.join(podDir, 'logs', 'main.log.1'))).toBe(true);
    const lines = followed.trim().split('\n');
    // Copy-then-truncate can lose what is written between the copy and the truncate (log-rotator.ts); never more, never twice.
    const numbers = lines.filter((line) => line.startsWith('line')).map((line) => Number(line.slice(5, 8)));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(numbers.length).toBeGreaterThan(60);
    // And a later read spans the rotated files: the .1 copy first, then the live file.
    const h2 = (await get(logsUrl(h, 'r', 'main'))).body;
    expect(h2.endsWith('done\n')).toBe(true);
    expect(h2.split('\n').length).toBeGreaterThan(20);
  });

  it('previous: refused before any restart, then the last terminated instance\'s log only, as the current log is the running one\'s only', async () => {
    const h = await harness();
    const trigger = path.join(h.runtime.dataDir, 'crash');
    // Each instance prints its own start time, waits for the trigger, takes it away and exits 3.
    const key = await h.run(makePod({ name: 'c', restartPolicy: 'Always', containers: [sh('main', `echo "run-$(date +%s%N)"; while [ ! -f ${trigger} ]; do sleep 0.05; done; rm -f ${trigger}; exit 3`)] }), 'main');
    const first = await waitText(async () => (await get(logsUrl(h, 'c', 'main'))).body, 'run-');
    expect(await get(logsUrl(h, 'c', 'main', 'previous=true'))).toEqual({ status: 400, body: 'previous terminated container "main" in pod "c" not found\n' });
    writeFileSync(trigger, '');
    await waitFor(() => Number(h.runtime.container(key, 'main').restartCount) >= 1, { what: 'a restart' });
    const second = await waitFor(async () => {
      const body = (await get(logsUrl(h, 'c', 'main'))).body;
      return /^run-\d+\n$/.test(body) && body !== first ? body : undefined;
    }, { what: 'the second instance\'s own log' });
    expect(await get(logsUrl(h, 'c', 'main', 'previous=true'))).toEqual({ status: 200, body: first });
    expect(second).not.toContain(first.trim());
  });

  it('sinceSeconds keeps recent files; sinceTime and sinceSeconds together are refused', async () => {
    const h = await harness();
    await h.run(makePod({ name: 's', containers: [sh('main', 'echo recent; exec sleep 60')] }), 'main');
    await waitText(async () => (await get(logsUrl(h, 's', 'main'))).body, 'recent');
    expect((await get(logsUrl(h, 's', 'main', 'sinceSeconds=60'))).body).toBe('recent\n');
    expect((await get(logsUrl(h, 's', 'main', `sinceTime=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`))).body).toBe('');
    const both = await get(logsUrl(h, 's', 'main', 'sinceSeconds=5&sinceTime=2020-01-01T00:00:00Z'));
    expect(both).toEqual({ status: 400, body: 'at most one of `sinceTime` or `sinceSeconds` may be specified\n' });
    expect((await get(logsUrl(h, 's', 'main', 'tailLines=-1'))).status).toBe(400);
  });
});
