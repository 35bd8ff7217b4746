/**
 * Where the hub and its admin commands find their cluster, as kubectl does: `--kubeconfig`,
 * else an embedded API's `--data DIR/kubeconfig`, else `$KUBECONFIG` (a list; files that do
 * not exist are skipped), else `~/.kube/config`, else the in-cluster service account.
 *
 * client-node's own fallback, when none of these exists, is `http://localhost:8080`, which it
 * then refuses to speak to ("HTTP protocol is not allowed ..."): we say instead that no cluster
 * was found and how to point at one.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface ClusterChoice {
  /** `--kubeconfig FILE`. */
  kubeconfig?: string;
  /** `--data DIR`: an embedded API's data directory, whose kubeconfig is DIR/kubeconfig. */
  data?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export const NO_CLUSTER_HELP =
  'point at one with --kubeconfig FILE (or EDGE_KUBECONFIG, or KUBECONFIG), use --data DIR for the kubeconfig of an embedded API ' +
  '(`cloud-hub apiserver --data DIR` or `cloud-hub --embedded --data DIR` writes DIR/kubeconfig), or serve with `cloud-hub --embedded`';

/** A kubeconfig that cannot be used, with what to do about it. */
export class ClusterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

/** The kubeconfig `choice` and the environment lead to, or a ClusterConfigError that says why none. */
export function loadKubeConfig(choice: ClusterChoice, env: NodeJS.ProcessEnv = process.env, home = homedir()): KubeConfig {
  const config = new KubeConfig();
  if (choice.kubeconfig) {
    loadFile(config, choice.kubeconfig, '--kubeconfig');
  } else if (choice.data) {
    loadFile(config, path.join(choice.data, 'kubeconfig'), `--data ${choice.data} (its kubeconfig)`);
  } else if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter((file) => file.length > 0);
    const present = listed.filter((file) => existsSync(file));
    if (present.length === 0) throw new ClusterConfigError(`no cluster found: $KUBECONFIG names ${listed.join(path.delimiter) || 'nothing'}, which does not exist; ${NO_CLUSTER_HELP}`);
    loadFile(config, present[0]!, '$KUBECONFIG');
    for (const file of present.slice(1)) {
      const next = new KubeConfig();
      loadFile(next, file, '$KUBECONFIG');
      // As kubectl merges a KUBECONFIG list: the first file's current context wins.
      config.mergeConfig(next, true);
    }
  } else if (existsSync(path.join(home, '.kube', 'config'))) {
    loadFile(config, path.join(home, '.kube', 'config'), '~/.kube/config');
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    config.loadFromCluster();
  } else {
    throw new ClusterConfigError(`no cluster found: no --kubeconfig, $KUBECONFIG is not set, ${path.join(home, '.kube', 'config')} does not exist and this is not a Kubernetes pod; ${NO_CLUSTER_HELP}`);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new ClusterConfigError(`the kubeconfig has no current cluster (current-context ${JSON.stringify(config.getCurrentContext())}); set one with \`kubectl config use-context\` or pick another kubeconfig`);
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new ClusterConfigError(`cluster ${cluster.name} is plain HTTP (${cluster.server}); the Kubernetes client speaks HTTP only when the kubeconfig's cluster sets insecure-skip-tls-verify: true`);
  }
  return config;
}

function loadFile(config: KubeConfig, file: string, from: string): void {
  if (!existsSync(file)) throw new ClusterConfigError(`kubeconfig ${file} (from ${from}) does not exist; ${NO_CLUSTER_HELP}`);
  try {
    config.loadFromFile(file);
  } catch (err) {
    throw new ClusterConfigError(`kubeconfig ${file} (from ${from}) cannot be read: ${(err as Error).message}`);
  }
}
