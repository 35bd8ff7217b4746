#!/usr/bin/env node
/** `edge-agent`: keep a node's cache in sync with the hub and run its pods, online or offline. */
import { Command } from 'commander';

const program = new Command('edge-agent')
  .description('Sync this node with an edge-sync hub and run its pods from a local cache.')
  .showHelpAfterError();

program.action(() => {
  throw new Error('the agent is not implemented yet');
});

await program.parseAsync();
