/** `cloud-hub apiserver`: the embedded Kubernetes-wire API on its own. */
import { Command } from 'commander';

export function apiServerCommand(): Command {
  return new Command('apiserver')
    .description('Serve the embedded Kubernetes-wire API from SQLite and write DIR/kubeconfig.')
    .action(() => {
      throw new Error('not implemented yet');
    });
}
