/** `cloud-hub token ...`: create, revoke and list node tokens through the Kubernetes API. */
import { assertNodeName, type JsonObject } from '../../protocol/index.js';
import { KubeApiError, isConflict, isNotFound, type KubeClient } from '../kube/kube-client.js';
import { paths } from '../kube/kube-paths.js';
import { mosquittoPasswordHash } from './mosquitto-files.js';
import { TOKEN_LABEL, generateToken, readTokenSecret, tokenSecret, tokenSecretName } from './node-tokens.js';

export class TokenAdmin {
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
  ) {}

  /** Creates (or rotates) `node`'s token and returns it; only its hash is stored. */
  async create(node: string): Promise<string> {
    assertNodeName(node);
    return this.explained(`create node tokens (Secrets) in namespace ${this.namespace}`, () => this.createToken(node));
  }

  private async createToken(node: string): Promise<string> {
    await this.ensureNamespace();
    const token = generateToken();
    // The broker's hash too, so a mosquitto password file can be written without the token.
    const secret = tokenSecret(this.namespace, node, token, { mosquitto: mosquittoPasswordHash(token) });
    try {
      await this.client.create(paths.secrets(this.namespace), secret);
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.client.replace(paths.secret(this.namespace, tokenSecretName(node)), secret);
    }
    return token;
  }

  /** Creates tokens for many nodes, `concurrency` API calls at a time (the simulator's fleets). */
  async createMany(nodes: readonly string[], concurrency = 32): Promise<Map<string, string>> {
    const tokens = new Map<string, string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < nodes.length) {
        const node = nodes[next++] as string;
        tokens.set(node, await this.create(node));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, nodes.length) }, worker));
    return tokens;
  }

  /** Deletes `node`'s token; a connected agent using it is disconnected. Returns false if there was none. */
  async revoke(node: string): Promise<boolean> {
    return this.explained(`delete node tokens (Secrets) in namespace ${this.namespace}`, () => this.revokeToken(node));
  }

  private async revokeToken(node: string): Promise<boolean> {
    try {
      await this.client.delete(paths.secret(this.namespace, tokenSecretName(node)));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(): Promise<string[]> {
    return [...(await this.mosquittoHashes()).keys()].sort();
  }

  /** Node -> mosquitto password hash ('' for tokens created before hashes were stored). */
  async mosquittoHashes(): Promise<Map<string, string>> {
    const list = await this.explained(`list node tokens (Secrets) in namespace ${this.namespace}`, () =>
      this.client.get<{ items?: JsonObject[] }>(paths.secrets(this.namespace), { labelSelector: `${TOKEN_LABEL}=true` }),
    );
    const hashes = new Map<string, string>();
    for (const secret of list.items ?? []) {
      const token = readTokenSecret(secret);
      if (token) hashes.set(token.node, token.data.mosquitto ?? '');
    }
    return hashes;
  }

  /** Runs `call`, turning the API's refusals into what the operator should do about them. */
  private async explained<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      const server = this.client.server;
      if (err.status === 401) {
        throw new Error(`the cluster API at ${server} did not accept the kubeconfig's credentials (401 Unauthorized) while trying to ${what}: check the user of the kubeconfig's current context`);
      }
      if (err.status === 403) {
        throw new Error(`the kubeconfig's user may not ${what} (403 Forbidden): bind it the Role edge-sync:token-admin (deploy/k8s/base/token-admin-role.yaml). ${err.message}`);
      }
      throw err;
    }
  }

  /** Creates the hub namespace when it is missing (the embedded API starts without it). */
  private async ensureNamespace(): Promise<void> {
    try {
      await this.client.get(`${paths.namespaces}/${encodeURIComponent(this.namespace)}`);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.create(paths.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}
