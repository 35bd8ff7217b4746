/**
 * Starts one instance of a container in a Pod's sandbox, in the kubelet's order
 * (kuberuntime_container.go startContainer): environment and mounts (a missing ConfigMap or
 * Secret is `CreateContainerConfigError`), the image (image-puller.ts), CreateContainer
 * (`CreateContainerError` when it fails), StartContainer. `$(VAR)` references in command and args
 * are expanded against the container's environment, as Kubernetes does.
 */
import { expand, mappingFor } from '../expansion.js';
import type { EnvResolver } from '../env-resolver.js';
import type { PodLayout } from '../pod-layout.js';
import type { ContainerSpec, PodView } from '../pod-spec.js';
import { specHash } from '../spec-hash.js';
import type { VolumeManager } from '../volume-manager.js';
import type { CriClient } from './cri-client.js';
import { criLinux } from './cri-isolation.js';
import { containerConfig } from './cri-config.js';
import type { PodSandboxConfig } from './cri-types.js';
import type { ImageEvent, ImagePuller } from './image-puller.js';

export interface CriStartDeps {
  client: CriClient;
  images: ImagePuller;
  env: EnvResolver;
  volumes: VolumeManager;
  nodeName: string;
  /** --allow-privileged. */
  allowPrivileged?: boolean;
}

export interface CriStartRequest {
  pod: PodView;
  container: ContainerSpec;
  init: boolean;
  layout: PodLayout;
  sandboxId: string;
  sandbox: PodSandboxConfig;
  restartCount: number;
}

export type CriStartOutcome =
  | { result: 'started'; id: string }
  /** Created, but StartContainer failed: the runtime reports the instance as exited (StartError). */
  | { result: 'start-failed'; id: string; message: string }
  | { result: 'waiting'; reason: string; message: string };

export class CriContainerStart {
  constructor(private readonly deps: CriStartDeps) {}

  async start(request: CriStartRequest, event: (event: ImageEvent) => void): Promise<CriStartOutcome> {
    const { pod, container } = request;
    const failed = (reason: string, message: string): CriStartOutcome => {
      event({ container: container.name, type: 'Warning', reason: 'Failed', message: `Error: ${message}` });
      return { result: 'waiting', reason, message };
    };
    const env = this.deps.env.resolve(pod, container);
    if (!env.ok) return failed('CreateContainerConfigError', env.message);
    for (const warning of env.warnings) event({ container: container.name, type: 'Warning', reason: 'InvalidEnvironmentVariableNames', message: warning });
    const mounts = this.deps.volumes.mounts(pod, container, request.layout, env.env);
    if (!mounts.ok) return failed('CreateContainerConfigError', mounts.message);
    const image = await this.deps.images.ensure(pod, container, request.sandbox, event);
    if (!image.ok) return { result: 'waiting', reason: image.reason, message: image.message };
    const linux = await criLinux(pod, container, request.init, this.deps.allowPrivileged ?? false, async () => {
      const status = await this.deps.client.imageStatus(image.imageRef).catch(() => undefined);
      // The kubelet's getImageUser: a numeric uid, else the user name, else (no user in the image) root.
      const username = status?.username ?? '';
      return { uid: status?.uid ? Number(status.uid.value) : username === '' ? 0 : undefined, username };
    });
    if (!linux.ok) return failed('CreateContainerConfigError', linux.message);
    const mapping = mappingFor(env.env);
    const config = containerConfig({
      pod,
      container,
      init: request.init,
      nodeName: this.deps.nodeName,
      imageRef: image.imageRef,
      restartCount: request.restartCount,
      specHash: specHash(container.raw),
      command: container.command?.map((part) => expand(part, mapping)),
      args: container.args.map((part) => expand(part, mapping)),
      env: env.env,
      mounts: mounts.mounts,
      resources: linux.resources,
      securityContext: linux.securityContext,
    });
    let id: string;
    try {
      id = await this.deps.client.createContainer(request.sandboxId, config, request.sandbox);
    } catch (err) {
      return failed('CreateContainerError', (err as Error).message);
    }
    event({ container: container.name, type: 'Normal', reason: 'Created', message: `Created container ${container.name}` });
    try {
      await this.deps.client.startContainer(id);
    } catch (err) {
      const message = (err as Error).message;
      event({ container: container.name, type: 'Warning', reason: 'Failed', message: `Error: ${message}` });
      return { result: 'start-failed', id, message };
    }
    event({ container: container.name, type: 'Normal', reason: 'Started', message: `Started container ${container.name}` });
    return { result: 'started', id };
  }
}
