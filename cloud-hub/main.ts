#!/usr/bin/env node
/** `cloud-hub`: serve the fleet, run the embedded API alone, or manage node tokens. */
import { Command } from 'commander';
import { apiServerCommand } from './embedded/command.js';

const program = new Command('cloud-hub')
  .description('Stream scoped Kubernetes objects to edge agents over WebSocket or MQTT.')
  .showHelpAfterError();

program.action(() => {
  throw new Error('serving is not implemented yet');
});

program.addCommand(apiServerCommand());

await program.parseAsync();
