/**
 * The transports the end-to-end suite runs over. Each prepares what it needs once the test
 * nodes have tokens and says how the hub is started and what URL agents use; the suite itself
 * is written once.
 */
import type { TestCluster } from '../../helpers/cluster.js';
import { MOSQUITTO, Mosquitto, freePort } from '../../helpers/mosquitto.js';
import { requireTool } from '../../helpers/system-tools.js';

export interface PreparedTransport {
  hubArgs: string[];
  agentHubUrl: string;
  /** The broker, when there is a separate one. */
  mosquitto?: Mosquitto;
}

export interface TransportCase {
  name: string;
  prepare(cluster: TestCluster): Promise<PreparedTransport>;
}

export const TRANSPORTS: TransportCase[] = [
  {
    name: 'websocket',
    prepare: async (cluster) => ({ hubArgs: [], agentHubUrl: cluster.hubUrl }),
  },
  {
    name: 'mqtt via mosquitto',
    prepare: async (cluster) => {
      requireTool(MOSQUITTO, 'mosquitto');
      const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
      return { hubArgs: mosquitto.hubArgs(), agentHubUrl: mosquitto.url, mosquitto };
    },
  },
  {
    name: 'mqtt via the embedded broker (aedes)',
    prepare: async () => {
      const port = await freePort();
      return { hubArgs: ['--embedded-broker', `127.0.0.1:${port}`], agentHubUrl: `mqtt://127.0.0.1:${port}` };
    },
  },
];
