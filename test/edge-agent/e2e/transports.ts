/**
 * The transports the end-to-end suite runs over. Each entry says how to start the hub and what
 * URL agents use; the suite itself is written once.
 */
import type { TestCluster } from '../../helpers/cluster.js';

export interface TransportCase {
  name: string;
  hubArgs: (cluster: TestCluster) => string[];
  agentHubUrl: (cluster: TestCluster) => string;
}

export const TRANSPORTS: TransportCase[] = [
  { name: 'websocket', hubArgs: () => [], agentHubUrl: (cluster) => cluster.hubUrl },
];
