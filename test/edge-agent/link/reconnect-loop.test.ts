/**
 * The connection half of the link alone, over a real socket to a scripted hub: each lost
 * connection is retried after the next backoff step, the backoff starts from its base again
 * only once a connection has stayed in sync, and stop() ends it without reporting a loss.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FullJitterBackoff } from '../../../edge-agent/link/backoff.js';
import { ReconnectLoop } from '../../../edge-agent/link/reconnect-loop.js';
import { WsTransport } from '../../../edge-agent/link/ws-transport.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('ReconnectLoop', () => {
  it('steps the backoff per lost connection and resets it once a connection stayed in sync', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const backoff = new FullJitterBackoff({ baseMs: 10, capMs: 40 });
    const loop = new ReconnectLoop({ transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }), logger: pino({ level: 'silent' }), backoff, stableAfterMs: 50 });
    cleanups.push(() => loop.stop());
    const seen: string[] = [];
    loop.start({
      opened: () => {
        seen.push('opened');
        // The first three are cut by the hub before they get anywhere; the fourth reaches sync.
        if (seen.filter((event) => event === 'opened').length >= 4) loop.inSync();
      },
      message: () => {},
      closed: () => seen.push('closed'),
      helloDue: () => {},
    });

    // The hub drops three connections right away: three steps, none undone.
    for (let i = 1; i <= 3; i++) {
      await waitFor(() => hub.connections.length >= i && seen.filter((event) => event === 'opened').length >= i, { what: `connection ${i}` });
      hub.current!.terminate();
      await waitFor(() => seen.filter((event) => event === 'closed').length >= i, { what: `loss ${i} reported` });
    }
    expect(backoff.attempts).toBe(3);

    // The fourth stays and reaches sync: after stableAfterMs the next outage backs off from the base.
    await waitFor(() => hub.connections.length >= 4, { what: 'connection 4' });
    await waitFor(() => backoff.attempts === 0, { what: 'the backoff reset' });
    expect(loop.state).toBe('open');
    expect(loop.open).toBe(true);

    // stop() closes without a 'closed' event (nothing is retried).
    const events = seen.length;
    loop.stop();
    expect(loop.state).toBe('stopped');
    expect(loop.open).toBe(false);
    await waitFor(() => hub.current!.readyState === hub.current!.CLOSED, { what: 'the hub seeing the close' });
    expect(seen.slice(events)).toEqual([]);
  });

  it('a connection lost before it was stable keeps the backoff stepping', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const backoff = new FullJitterBackoff({ baseMs: 10, capMs: 40 });
    // stableAfterMs far beyond the test: reaching sync alone must not reset the backoff.
    const loop = new ReconnectLoop({ transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }), logger: pino({ level: 'silent' }), backoff, stableAfterMs: 600_000 });
    cleanups.push(() => loop.stop());
    let opened = 0;
    loop.start({ opened: () => void (opened++, loop.inSync()), message: () => {}, closed: () => {}, helloDue: () => {} });
    for (let i = 1; i <= 2; i++) {
      await waitFor(() => hub.connections.length >= i && opened >= i, { what: `connection ${i}` });
      hub.current!.terminate();
    }
    await waitFor(() => backoff.attempts >= 2, { what: 'two steps' });
    await waitFor(() => hub.connections.length >= 3 && opened >= 3, { what: 'connection 3' });
    expect(backoff.attempts).toBe(2);
  });
});
