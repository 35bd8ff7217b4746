/**
 * Removing a Pod from the container runtime as the kubelet's killPod does: every running
 * container stopped at once with what is left of the grace period (the runtime sends SIGTERM,
 * then SIGKILL), the sidecars after them one at a time in reverse order, then each of the Pod's sandboxes stopped and removed (which removes their
 * containers). Found by this node's labels, so it also works for a Pod whose spec is unknown.
 */
import { rmSync } from 'node:fs';
import type { PodLayout } from '../pod-layout.js';
import type { PodView } from '../pod-spec.js';
import type { SecretVolumes } from '../secret-volumes.js';
import type { CriClient } from './cri-client.js';
import type { CriLogs } from './cri-logs.js';
import type { ImagePuller } from './image-puller.js';
import { POD_UID_LABEL, ownerLabels } from './cri-config.js';

export async function removePodContainers(
  client: CriClient,
  nodeName: string,
  uid: string,
  graceSeconds: number,
  killing: (container: string) => void,
  /** Runs the container's preStop hook; resolves with the grace (seconds) left for the stop. */
  beforeStop: (container: string, id: string, graceSeconds: number) => Promise<number> = async (_container, _id, grace) => grace,
  /** The Pod's sidecars in init order (sidecars.ts): stopped after the rest, the last one first, within the same grace period. */
  sidecars: readonly string[] = [],
): Promise<void> {
  const mine = { [POD_UID_LABEL]: uid, ...ownerLabels(nodeName) };
  const running = (await client.listContainers({ labelSelector: mine })).filter((item) => item.state === 'CONTAINER_RUNNING');
  const deadline = Date.now() + graceSeconds * 1000;
  const stop = (items: typeof running) =>
    Promise.all(
      items.map(async (item) => {
        killing(item.metadata.name);
        const left = Math.max(0, (deadline - Date.now()) / 1000);
        await client.stopContainer(item.id, await beforeStop(item.metadata.name, item.id, left));
      }),
    );
  await stop(running.filter((item) => !sidecars.includes(item.metadata.name)));
  for (const name of [...sidecars].reverse()) await stop(running.filter((item) => item.metadata.name === name));
  for (const sandbox of await client.listPodSandbox({ labelSelector: mine })) {
    await client.stopPodSandbox(sandbox.id);
    await client.removePodSandbox(sandbox.id);
  }
}

/** After the containers: the Pod's directory, its logs, its pull back-offs and its Secret volumes. */
export function removePodFiles(deps: { logs: CriLogs; images: ImagePuller; secrets: SecretVolumes | undefined }, layout: PodLayout, view: PodView | undefined): void {
  layout.remove();
  if (view) {
    rmSync(deps.logs.podDir(view), { recursive: true, force: true });
    deps.images.forget(view);
  }
  deps.secrets?.removePod(layout.dirName);
}
