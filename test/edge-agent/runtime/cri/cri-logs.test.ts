/**
 * Container log rotation by size with a real containerd: the live `<n>.log` is renamed, containerd
 * reopens it (ReopenContainerLog) and keeps writing, and only `files - 1` rotated files stay.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient } from '../../../../edge-agent/runtime/cri/cri-client.js';
import { CriLogs } from '../../../../edge-agent/runtime/cri/cri-logs.js';
import { parsePod } from '../../../../edge-agent/runtime/pod-spec.js';
import { Containerd } from '../../../helpers/containerd.js';
import { buildTestImages, type TestImages } from '../../../helpers/test-images.js';
import { makeTempDir } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';

let images: TestImages;
let containerd: Containerd;
let client: CriClient;
let root: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  client = await CriClient.connect(containerd.endpoint);
  root = makeTempDir('edge-cri-rotate-');
}, 180_000);

afterAll(async () => {
  client?.close();
  await containerd?.stop();
  root?.remove();
}, 60_000);

describe('CRI log rotation', () => {
  it('renames a log past its size, has containerd reopen it, and keeps files - 1 rotated ones', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const logs = new CriLogs({ root: root.path, maxBytes: 2_000, files: 3, client, logger: pino({ level: 'silent' }), now: () => (clock += 1_000) });
    const pod = parsePod({ metadata: { name: 'chatty', namespace: 'default', uid: `u-${process.pid}` }, spec: { containers: [] } });
    const logDirectory = logs.podDir(pod);
    expect(logDirectory).toBe(path.join(root.path, 'pods', `default_chatty_u-${process.pid}`));
    const config = { metadata: { name: 'chatty', namespace: 'default', uid: pod.uid, attempt: 0 }, logDirectory, linux: { securityContext: { namespaceOptions: { network: 'NODE' as const } } } };
    const sandbox = await client.runPodSandbox(config);
    const id = await client.createContainer(
      sandbox,
      { metadata: { name: 'main', attempt: 0 }, image: { image: images.busybox.reference }, command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.01; done'], logPath: 'main/0.log' },
      config,
    );
    await client.startContainer(id);
    const live = path.join(logDirectory, 'main', '0.log');
    const status = await client.containerStatus(id);
    for (let rotation = 0; rotation < 4; rotation++) {
      await waitFor(() => existsSync(live) && statSync(live).size > 2_000, { what: `the log past 2000 bytes (rotation ${rotation})` });
      await logs.rotateIfNeeded(status);
    }
    const files = readdirSync(path.join(logDirectory, 'main')).sort();
    expect(files.filter((name) => name.startsWith('0.log.'))).toHaveLength(2);
    // containerd writes into the new live file after the reopen.
    await waitFor(() => existsSync(live) && /stdout F line \d+/.test(readFileSync(live, 'utf8')), { what: 'lines in the reopened log' });
    const kept = files.filter((name) => name.startsWith('0.log.')).map((name) => readFileSync(path.join(logDirectory, 'main', name), 'utf8'));
    const lastOf = (text: string) => Number(/line (\d+)\n?$/.exec(text.trimEnd())?.[1]);
    expect(lastOf(kept[0]!)).toBeLessThan(lastOf(kept[1]!));
    await client.stopPodSandbox(sandbox);
    await client.removePodSandbox(sandbox);
  });
});
