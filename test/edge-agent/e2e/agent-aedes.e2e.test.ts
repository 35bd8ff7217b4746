import { agentSuite } from './agent-suite.js';
import { TRANSPORTS } from './transports.js';

agentSuite(TRANSPORTS[2]!);
