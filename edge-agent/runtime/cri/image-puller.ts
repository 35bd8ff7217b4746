/**
 * Gets a container's image onto the node the kubelet's way (images/image_manager.go
 * EnsureImageExists): `imagePullPolicy` decides whether to pull, credentials come from the Pod's
 * imagePullSecrets (docker-keyring.ts), and a failed pull puts the image in back-off, keyed by
 * Pod and image, with the container waiting in `ErrImagePull` and then, while the back-off lasts,
 * `ImagePullBackOff`; the events and messages are the kubelet's.
 */
import { formatKey, type JsonObject } from '../../../protocol/index.js';
import { nextBackoff, type BackoffEntry, type BackoffSettings } from '../crash-loop-backoff.js';
import type { ContainerSpec, PodView } from '../pod-spec.js';
import type { ObjectLookup, RuntimeEvent } from '../runtime.js';
import type { CriClient } from './cri-client.js';
import type { AuthConfig, PodSandboxConfig } from './cri-types.js';
import { credentialsFor } from './docker-keyring.js';
import { pullPolicy } from './image-pull-policy.js';

export type ImageResult = { ok: true; imageRef: string } | { ok: false; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string };
export type ImageEvent = Omit<RuntimeEvent, 'pod' | 'at'>;

export interface ImagePullerOptions {
  client: CriClient;
  lookup: ObjectLookup;
  backoff: BackoffSettings;
  now: () => number;
}

export class ImagePuller {
  private readonly backoff = new Map<string, BackoffEntry>();

  constructor(private readonly options: ImagePullerOptions) {}

  /** When the image's back-off for this Pod ends (ms since the epoch), if it is in one. */
  backoffEnds(pod: PodView, image: string): number | undefined {
    const entry = this.backoff.get(`${pod.uid}/${image}`);
    return entry ? entry.lastUpdate + entry.delayMs : undefined;
  }

  /** Forgets a deleted Pod's back-offs. */
  forget(pod: PodView): void {
    for (const key of [...this.backoff.keys()]) if (key.startsWith(`${pod.uid}/`)) this.backoff.delete(key);
  }

  async ensure(pod: PodView, container: ContainerSpec, sandbox: PodSandboxConfig, event: (event: ImageEvent) => void): Promise<ImageResult> {
    const { client, now } = this.options;
    const image = container.image;
    const warn = (reason: string, message: string): void => event({ container: container.name, type: 'Warning', reason, message });
    if (!image || /\s/.test(image)) {
      const message = `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image name`;
      warn('InspectFailed', message);
      return { ok: false, reason: 'InvalidImageName', message };
    }
    const policy = pullPolicy(image, container.raw.imagePullPolicy);
    const present = await client.imageStatus(image);
    if (present && policy !== 'Always') {
      event({ container: container.name, type: 'Normal', reason: 'Pulled', message: `Container image "${image}" already present on machine` });
      return { ok: true, imageRef: present.id };
    }
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      warn('ErrImageNeverPull', message);
      return { ok: false, reason: 'ErrImageNeverPull', message };
    }
    const key = `${pod.uid}/${image}`;
    const entry = this.backoff.get(key);
    if (entry && now() - entry.lastUpdate < entry.delayMs) {
      const message = `Back-off pulling image "${image}"`;
      event({ container: container.name, type: 'Normal', reason: 'BackOff', message });
      return { ok: false, reason: 'ImagePullBackOff', message };
    }
    event({ container: container.name, type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` });
    const started = now();
    try {
      const imageRef = await this.pull(pod, image, sandbox);
      this.backoff.delete(key);
      const seconds = ((now() - started) / 1000).toFixed(3);
      event({ container: container.name, type: 'Normal', reason: 'Pulled', message: `Successfully pulled image "${image}" in ${seconds}s` });
      return { ok: true, imageRef };
    } catch (err) {
      this.backoff.set(key, nextBackoff(entry, now(), this.options.backoff));
      const message = `Failed to pull image "${image}": ${(err as Error).message}`;
      warn('Failed', message);
      warn('Failed', 'Error: ErrImagePull');
      return { ok: false, reason: 'ErrImagePull', message };
    }
  }

  /** Pulls with each matching credential in turn (anonymously when none matches); the last error wins. */
  private async pull(pod: PodView, image: string, sandbox: PodSandboxConfig): Promise<string> {
    const candidates: (AuthConfig | undefined)[] = credentialsFor(image, this.pullSecrets(pod));
    if (candidates.length === 0) candidates.push(undefined);
    let last: unknown;
    for (const auth of candidates) {
      try {
        return await this.options.client.pullImage({ image }, auth, sandbox);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  private pullSecrets(pod: PodView): JsonObject[] {
    const found: JsonObject[] = [];
    for (const name of pod.imagePullSecrets) {
      const secret = this.options.lookup.get(formatKey('Secret', pod.namespace, name));
      if (secret) found.push(secret);
    }
    return found;
  }
}
