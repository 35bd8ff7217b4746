/**
 * A CRI v1 client over gRPC (@grpc/grpc-js): the RuntimeService and ImageService calls the CRI
 * runtime makes, each a promise with a deadline. grpc-js, proto-loader and protobufjs are loaded
 * only by `CriClient.connect` (dynamic import of grpc-modules.ts), so an agent without
 * `--container-runtime-endpoint` never loads them.
 */
import type * as Grpc from '@grpc/grpc-js';
import { CRI_PROTO } from './cri-proto.js';
import type {
  AttachRequest,
  ContainerStats,
  ExecRequest,
  Labels,
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStatus,
  FilesystemUsage,
  Image,
  ImageSpec,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
  VersionResponse,
} from './cri-types.js';

/** A failed CRI call: the gRPC status code name (NOT_FOUND, UNAVAILABLE, ...) and the runtime's message. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    readonly details: string,
  ) {
    super(details || `${method} failed: ${code}`);
    this.name = 'CriError';
  }

  get notFound(): boolean {
    return this.code === 'NOT_FOUND';
  }
}

type Call = (request: object, options: { deadline: Date }, callback: (err: Grpc.ServiceError | null, response: unknown) => void) => unknown;
type Stub = Grpc.Client & Record<string, Call>;

/** Default deadline of a call; pulls and stops get their own. */
const CALL_TIMEOUT_MS = 60_000;
const PULL_TIMEOUT_MS = 15 * 60_000;

/** `unix:///path` (kubelet's form) or a plain socket path. */
export function endpointAddress(endpoint: string): string {
  if (endpoint.startsWith('unix://')) {
    const file = endpoint.slice('unix://'.length);
    if (!file.startsWith('/')) throw new Error(`container runtime endpoint ${JSON.stringify(endpoint)}: expected unix:///absolute/path`);
    return `unix://${file}`;
  }
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  throw new Error(`container runtime endpoint ${JSON.stringify(endpoint)}: only unix sockets are supported (unix:///run/containerd/containerd.sock)`);
}

export class CriClient {
  private constructor(
    private readonly grpc: typeof Grpc,
    private readonly runtime: Stub,
    private readonly images: Stub,
    readonly endpoint: string,
  ) {}

  /** Loads gRPC and the CRI definitions and opens a channel (lazily: the first call connects). */
  static async connect(endpoint: string): Promise<CriClient> {
    const address = endpointAddress(endpoint);
    const { grpc, protoLoader, protobuf } = await import('./grpc-modules.js');
    const root = protobuf.default.parse(CRI_PROTO, { keepCase: false }).root;
    const definition = protoLoader.fromJSON(root.toJSON(), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: Record<string, typeof Grpc.Client> } };
    const { RuntimeService, ImageService } = loaded.runtime.v1;
    const credentials = grpc.credentials.createInsecure();
    // Pulls can carry large responses in some runtimes; CRI clients (crictl, kubelet) raise the limit likewise.
    const options = { 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
    const runtime = new RuntimeService!(address, credentials, options) as Stub;
    const images = new ImageService!(address, credentials, { ...options, channelOverride: runtime.getChannel() }) as Stub;
    return new CriClient(grpc, runtime, images, endpoint);
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  private call<T>(stub: Stub, method: string, request: object, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const fn = stub[method];
    if (!fn) return Promise.reject(new Error(`no CRI method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(stub, request, { deadline: new Date(Date.now() + timeoutMs) }, (err, response) => {
        if (err) reject(new CriError(method, this.grpc.status[err.code] ?? String(err.code), err.details));
        else resolve(response as T);
      });
    });
  }

  version(): Promise<VersionResponse> {
    return this.call(this.runtime, 'Version', { version: 'v1' }, 10_000);
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    return (await this.call<{ podSandboxId: string }>(this.runtime, 'RunPodSandbox', { config, runtimeHandler }, 4 * CALL_TIMEOUT_MS)).podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { podSandboxId }, 4 * CALL_TIMEOUT_MS);
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, 'RemovePodSandbox', { podSandboxId }, 4 * CALL_TIMEOUT_MS);
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    return (await this.call<{ status: PodSandboxStatus }>(this.runtime, 'PodSandboxStatus', { podSandboxId })).status;
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    return (await this.call<{ items: PodSandbox[] }>(this.runtime, 'ListPodSandbox', { filter })).items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call<{ containerId: string }>(this.runtime, 'CreateContainer', { podSandboxId, config, sandboxConfig }, 4 * CALL_TIMEOUT_MS)).containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, 'StartContainer', { containerId }, 4 * CALL_TIMEOUT_MS);
  }

  /** SIGTERM (the image's StopSignal), SIGKILL after `timeoutSeconds`; resolves once it has stopped. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const seconds = Math.max(0, Math.ceil(timeoutSeconds));
    await this.call(this.runtime, 'StopContainer', { containerId, timeout: seconds }, seconds * 1000 + CALL_TIMEOUT_MS);
  }

  /** Runs `cmd` in the container (probes, hooks); containerd cuts it at `timeoutSeconds` (0: none). */
  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<{ exitCode: number; output: string }> {
    const seconds = Math.max(0, Math.ceil(timeoutSeconds));
    const response = await this.call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>(this.runtime, 'ExecSync', { containerId, cmd, timeout: seconds }, seconds * 1000 + CALL_TIMEOUT_MS);
    const output = Buffer.concat([Buffer.from(response.stdout ?? []), Buffer.from(response.stderr ?? [])]).toString('utf8');
    return { exitCode: response.exitCode, output };
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, 'RemoveContainer', { containerId }, 4 * CALL_TIMEOUT_MS);
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    return (await this.call<{ containers: Container[] }>(this.runtime, 'ListContainers', { filter })).containers;
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return (await this.call<{ status: ContainerStatus }>(this.runtime, 'ContainerStatus', { containerId })).status;
  }

  /** A URL on the runtime's streaming server that runs the command (kubelet proxies the client's request there). */
  async exec(request: ExecRequest): Promise<string> {
    return (await this.call<{ url: string }>(this.runtime, 'Exec', request)).url;
  }

  async attach(request: AttachRequest): Promise<string> {
    return (await this.call<{ url: string }>(this.runtime, 'Attach', request)).url;
  }

  async listContainerStats(filter: { labelSelector?: Labels } = {}): Promise<ContainerStats[]> {
    return (await this.call<{ stats: ContainerStats[] }>(this.runtime, 'ListContainerStats', { filter })).stats;
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.call(this.runtime, 'ReopenContainerLog', { containerId });
  }

  async listImages(): Promise<Image[]> {
    return (await this.call<{ images: Image[] }>(this.images, 'ListImages', { filter: {} })).images;
  }

  /** The image, or undefined when the runtime does not have it. */
  async imageStatus(image: string): Promise<Image | undefined> {
    return (await this.call<{ image: Image | null }>(this.images, 'ImageStatus', { image: { image } })).image ?? undefined;
  }

  /** Pulls `image.image` (with `auth` when given); resolves with the image reference the runtime stored. */
  async pullImage(image: ImageSpec, auth: AuthConfig | undefined, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const request = { image, ...(auth ? { auth } : {}), ...(sandboxConfig ? { sandboxConfig } : {}) };
    return (await this.call<{ imageRef: string }>(this.images, 'PullImage', request, PULL_TIMEOUT_MS)).imageRef;
  }

  async removeImage(image: string): Promise<void> {
    await this.call(this.images, 'RemoveImage', { image: { image } });
  }

  async imageFsInfo(): Promise<FilesystemUsage[]> {
    return (await this.call<{ imageFilesystems: FilesystemUsage[] }>(this.images, 'ImageFsInfo', {})).imageFilesystems;
  }
}
