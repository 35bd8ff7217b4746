/**
 * The embedded API in-process with RBAC: the rendered manifests' Roles and bindings decide
 * every request of the hub's ServiceAccount and of a token admin, through RbacAuthorizer.
 * The hub runs as the real `cloud-hub` binary with the args and env of the rendered Deployment.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { renderKubeconfig } from '../../cloud-hub/apiserver/kubeconfig.js';
import { ADMIN_USER, EmbeddedApiServer, type UserInfo } from '../../cloud-hub/apiserver/index.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { BIN, run, startProcess, type RunningProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';
import { container, containerEnv, find, render, type KubeObject } from './manifests.js';
import { RbacAuthorizer, bootstrapPolicy, isRbacObject, serviceAccountUser, type RbacObject } from './rbac.js';

export const HUB_USER = serviceAccountUser('edge-system', 'cloud-hub');
/** Someone the test binds to the token-admin Role, as deploy/README.md tells operators to. */
export const TOKEN_ADMIN_USER: UserInfo = { username: 'alice', groups: ['edge-admins', 'system:authenticated'] };

const TOKEN_ADMIN_BINDING: RbacObject = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'token-admins', namespace: 'edge-system' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'edge-sync:token-admin' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'edge-admins' }],
};

export class RbacCluster {
  readonly dir = makeTempDir('edge-rbac-');
  readonly objects: KubeObject[];
  readonly authz: RbacAuthorizer;
  api!: EmbeddedApiServer;
  admin!: KubeClient;
  hubKubeconfig = '';
  tokenAdminKubeconfig = '';
  private adminToken?: string;
  private readonly tokens = new Map<string, UserInfo>([
    ['hub-service-account-token', HUB_USER],
    ['token-admin-token', TOKEN_ADMIN_USER],
  ]);

  constructor(readonly kustomization: string) {
    this.objects = render(kustomization);
    this.authz = new RbacAuthorizer([...this.objects.filter(isRbacObject), ...bootstrapPolicy(), TOKEN_ADMIN_BINDING]);
  }

  async start(): Promise<this> {
    this.api = new EmbeddedApiServer({
      dataDir: path.join(this.dir.path, 'api'),
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      authenticate: (token) => {
        if (token === undefined) return undefined;
        this.adminToken ??= readFileSync(this.api.tokenPath, 'utf8').trim();
        return token === this.adminToken ? ADMIN_USER : this.tokens.get(token);
      },
      authorize: this.authz.authorize,
    });
    await this.api.start();
    const config = new KubeConfig();
    config.loadFromFile(this.api.kubeconfigPath);
    this.admin = new KubeClient(config);
    const ca = readFileSync(this.api.caCertPath, 'utf8');
    this.hubKubeconfig = path.join(this.dir.path, 'hub.kubeconfig');
    writeFileSync(this.hubKubeconfig, renderKubeconfig(this.api.url, ca, 'hub-service-account-token'), { mode: 0o600 });
    this.tokenAdminKubeconfig = path.join(this.dir.path, 'token-admin.kubeconfig');
    writeFileSync(this.tokenAdminKubeconfig, renderKubeconfig(this.api.url, ca, 'token-admin-token'), { mode: 0o600 });
    // What `kubectl apply -k` would create first: the namespace (other kinds the embedded API does not serve).
    await this.admin.create('/api/v1/namespaces', find(this.objects, 'Namespace', 'edge-system'));
    return this;
  }

  /** `cloud-hub token ...` as the token admin. */
  async tokenCli(...args: string[]): Promise<string> {
    const result = await run(process.execPath, [BIN.cloudHub, 'token', ...args, '--kubeconfig', this.tokenAdminKubeconfig]);
    if (result.code !== 0) throw new Error(`cloud-hub token ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /**
   * The hub as the Deployment runs it: its args and env (downward API resolved), then the
   * cluster connection and loopback addresses the test needs (commander keeps the last value).
   */
  async startHub(options: { rewriteArg?: (arg: string) => string; extraArgs?: string[]; podName?: string } = {}): Promise<{ proc: RunningProcess; ws: string; metrics: string; kubelet: string }> {
    const deployment = find(this.objects, 'Deployment', 'cloud-hub');
    const hub = container(deployment, 'cloud-hub');
    const podName = options.podName ?? 'cloud-hub-5d8f9c7b6-x2x4q';
    // The pod's service-account CA (the cluster CA) is here the embedded API's CA; the data
    // emptyDir a directory per replica.
    const inPod = (arg: string): string =>
      arg.startsWith('--kubelet-client-ca-file=/var/run/secrets/kubernetes.io/serviceaccount/') ? `--kubelet-client-ca-file=${this.api.caCertPath}` : arg;
    const args = (hub.args ?? []).map(inPod).map(options.rewriteArg ?? ((arg) => arg));
    const data = path.join(this.dir.path, `hub-${podName}`);
    const local = ['--kubeconfig', this.hubKubeconfig, '--data', data, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--kubelet-listen', '127.0.0.1:0'];
    const proc = await startProcess(BIN.cloudHub, [...args, ...local, ...(options.extraArgs ?? [])], {
      env: containerEnv(deployment, 'cloud-hub', podName),
    });
    const ready = proc.logs.find((line) => line.msg === 'ready')!;
    return { proc, ws: ready.ws as string, metrics: ready.metrics as string, kubelet: ready.kubelet as string };
  }

  /** A user the embedded API authenticates by this bearer token (TokenReview answers with it). */
  addToken(token: string, user: UserInfo): void {
    this.tokens.set(token, user);
  }

  async close(): Promise<void> {
    this.admin?.close();
    await this.api?.close();
    this.dir.remove();
  }
}
