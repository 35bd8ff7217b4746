/** An address to listen on: the hub's WebSocket and metrics listeners, its embedded broker, mosquitto's listeners. */
export interface HostPort {
  host: string;
  port: number;
}
