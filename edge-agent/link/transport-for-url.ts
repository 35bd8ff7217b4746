/** Picks the transport from the hub URL's scheme. */
import { MqttTransport } from './mqtt-transport.js';
import { WsTransport } from './ws-transport.js';
import type { LinkTransport } from './transport.js';

export interface TransportSettings {
  hubUrl: string;
  node: string;
  token?: string;
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
