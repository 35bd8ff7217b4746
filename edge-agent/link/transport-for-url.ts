/** Picks the transport from the hub URL's scheme. */
import { MqttTransport } from './mqtt-transport.js';
import { WsTransport } from './ws-transport.js';
import type { LinkTransport, TokenOption } from './transport.js';

export interface TransportSettings {
  hubUrl: string;
  node: string;
  /** The token, or a source read anew when the hub refuses it (edge-agent/link/token-file.ts). */
  token?: TokenOption;
  /** CA that signs the hub's (or broker's) certificate, for wss:// and mqtts:// with a private CA. */
  ca?: Buffer;
}

export function transportForUrl(settings: TransportSettings): LinkTransport {
  let url: URL;
  try {
    url = new URL(settings.hubUrl);
  } catch {
    throw new Error(`--hub: "${settings.hubUrl}" is not a URL; expected ws://HOST:PORT or mqtt://HOST:PORT`);
  }
  switch (url.protocol) {
    case 'ws:':
    case 'wss:':
      return new WsTransport({ hubUrl: settings.hubUrl, node: settings.node, ...(settings.token ? { token: settings.token } : {}), ...(settings.ca ? { ca: settings.ca } : {}) });
    case 'mqtt:':
    case 'mqtts:':
      return new MqttTransport({ brokerUrl: settings.hubUrl, node: settings.node, ...(settings.token ? { token: settings.token } : {}), ...(settings.ca ? { ca: settings.ca } : {}) });
    default:
      throw new Error(`--hub: unsupported scheme "${url.protocol}" in ${settings.hubUrl}; expected ws://, wss://, mqtt:// or mqtts://`);
  }
}
