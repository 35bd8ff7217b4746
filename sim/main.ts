#!/usr/bin/env node
/** `edge-sim`: thousands of virtual edge agents against a real hub. */
import { Command } from 'commander';

const program = new Command('edge-sim')
  .description('Simulate a fleet of edge nodes against a real edge-sync hub and report.')
  .showHelpAfterError();

program.action(() => {
  throw new Error('the simulator is not implemented yet');
});

await program.parseAsync();
