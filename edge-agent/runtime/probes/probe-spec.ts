/**
 * Probes and lifecycle handlers as the runtime reads them from a container (core/v1 Probe,
 * LifecycleHandler), with Kubernetes' defaults, and the checks the API server makes on them
 * (validation.go validateProbe, validateHandler): the hub could send anything, so a Pod whose
 * probes are not valid is refused like one with a bad name (pod-validation.ts).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../protocol/index.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export type Handler =
  | { type: 'exec'; command: string[] }
  | { type: 'httpGet'; scheme: 'HTTP' | 'HTTPS'; host: string | undefined; port: number; path: string; headers: { name: string; value: string }[] }
  | { type: 'tcpSocket'; host: string | undefined; port: number }
  | { type: 'grpc'; port: number; service: string };

export interface ProbeSpec {
  kind: ProbeKind;
  handler: Handler;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  /** The probe's own grace period for the kill after a liveness/startup failure. */
  terminationGracePeriodSeconds: number | undefined;
}

export interface ContainerProbes {
  liveness?: ProbeSpec;
  readiness?: ProbeSpec;
  startup?: ProbeSpec;
}

export interface LifecycleHooks {
  postStart?: Handler;
  preStop?: Handler;
}

/** Limits on what a hostile spec can make the agent do per probe. */
const MAX_HEADERS = 32;
const MAX_PATH = 2048;
const MAX_COMMAND_ARGS = 256;
/** The longest delay, period, grace or timeout accepted (a day); a probe's timeout is also capped at an hour. */
const MAX_SECONDS = 86_400;
const MAX_TIMEOUT_SECONDS = 3600;

const FIELDS: Record<ProbeKind, string> = { liveness: 'livenessProbe', readiness: 'readinessProbe', startup: 'startupProbe' };
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$/;
const HEADER_NAME = /^[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;
const HOST = /^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$/;

function int(value: JsonValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

/** A port given as a number or as the name of one of the container's ports. */
function resolvePort(value: JsonValue | undefined, container: JsonObject, problems: string[], field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 65535) problems.push(`${field}: Invalid value: ${JSON.stringify(value)}: must be between 1 and 65535, inclusive`);
    return value;
  }
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return resolvePort(Number(value), container, problems, field);
  if (typeof value === 'string' && value.length <= 15 && IANA_SVC_NAME.test(value)) {
    const ports = Array.isArray(container.ports) ? container.ports.filter(isJsonObject) : [];
    const found = ports.find((port) => port.name === value);
    const number = int(found?.containerPort);
    if (number !== undefined && number >= 1 && number <= 65535) return number;
    problems.push(`${field}: Invalid value: ${JSON.stringify(value)}: must be a port name of the container`);
    return 0;
  }
  problems.push(value === undefined ? `${field}: Required value` : `${field}: Invalid value: ${JSON.stringify(value).slice(0, 80)}: must be a port number or a port name`);
  return 0;
}

function host(value: JsonValue | undefined, problems: string[], field: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 253 || !HOST.test(value)) {
    problems.push(`${field}: Invalid value: ${JSON.stringify(value).slice(0, 80)}: must be a host name or IP address`);
    return undefined;
  }
  return value;
}

/** Parses one handler (probe or lifecycle); problems are pushed in the API server's wording. */
export function parseHandler(value: JsonObject, container: JsonObject, field: string, problems: string[], allowed: readonly Handler['type'][]): Handler | undefined {
  const present = (['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const).filter((type) => value[type] !== undefined && value[type] !== null);
  if (present.length !== 1) {
    problems.push(present.length === 0 ? `${field}: Required value: must specify a handler type` : `${field}: Forbidden: may not specify more than 1 handler type`);
    return undefined;
  }
  const type = present[0]!;
  if (type === 'sleep' || !allowed.includes(type)) {
    problems.push(`${field}.${type}: Unsupported value: the node supports ${allowed.join(', ')}`);
    return undefined;
  }
  const spec = obj(value[type]);
  if (!spec) {
    problems.push(`${field}.${type}: Invalid value: must be an object`);
    return undefined;
  }
  const at = `${field}.${type}`;
  if (type === 'exec') {
    const command = Array.isArray(spec.command) ? spec.command : [];
    if (command.length === 0 || command.length > MAX_COMMAND_ARGS || !command.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
      problems.push(`${at}.command: Required value: a list of at most ${MAX_COMMAND_ARGS} strings`);
      return undefined;
    }
    return { type, command: command as string[] };
  }
  if (type === 'httpGet') {
    const port = resolvePort(spec.port, container, problems, `${at}.port`);
    const path = spec.path === undefined || spec.path === '' ? '/' : spec.path;
    if (typeof path !== 'string' || path.length > MAX_PATH || !path.startsWith('/') || /[\s\0]/.test(path)) {
      problems.push(`${at}.path: Invalid value: ${JSON.stringify(path).slice(0, 80)}: must be an absolute URL path without spaces`);
    }
    const scheme = spec.scheme === undefined ? 'HTTP' : spec.scheme;
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') problems.push(`${at}.scheme: Unsupported value: ${JSON.stringify(scheme)}: supported values: "HTTP", "HTTPS"`);
    const headers: { name: string; value: string }[] = [];
    const given = Array.isArray(spec.httpHeaders) ? spec.httpHeaders : [];
    if (given.length > MAX_HEADERS) problems.push(`${at}.httpHeaders: Too many: ${given.length}: must have at most ${MAX_HEADERS} items`);
    for (const header of given.slice(0, MAX_HEADERS)) {
      const name = isJsonObject(header) ? header.name : undefined;
      const headerValue = isJsonObject(header) ? header.value : undefined;
      if (typeof name !== 'string' || !HEADER_NAME.test(name) || typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) {
        problems.push(`${at}.httpHeaders: Invalid value: ${JSON.stringify(header).slice(0, 80)}: must have a valid header name and a value without line breaks`);
        continue;
      }
      headers.push({ name, value: headerValue });
    }
    return { type, scheme: scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', host: host(spec.host, problems, `${at}.host`), port, path: typeof path === 'string' ? path : '/', headers };
  }
  if (type === 'tcpSocket') return { type, host: host(spec.host, problems, `${at}.host`), port: resolvePort(spec.port, container, problems, `${at}.port`) };
  const port = int(spec.port);
  if (port === undefined || port < 1 || port > 65535) problems.push(`${at}.port: Invalid value: ${JSON.stringify(spec.port)}: must be between 1 and 65535, inclusive`);
  const service = spec.service === undefined ? '' : spec.service;
  if (typeof service !== 'string' || service.length > 1024) problems.push(`${at}.service: Invalid value: must be a string of at most 1024 characters`);
  return { type: 'grpc', port: port ?? 0, service: typeof service === 'string' ? service : '' };
}

function seconds(value: JsonValue | undefined, fallback: number, min: number, field: string, problems: string[]): number {
  if (value === undefined || value === null) return fallback;
  const number = int(value);
  // The API server's defaulter turns 0 into the default (period 10, timeout 1, thresholds) before validating.
  if (number === 0) return fallback;
  if (number === undefined || number < min || number > MAX_SECONDS) {
    problems.push(`${field}: Invalid value: ${JSON.stringify(value).slice(0, 40)}: must be an integer between ${min} and ${MAX_SECONDS}`);
    return fallback;
  }
  return number;
}

/** One probe with Kubernetes' defaults (period 10 s, timeout 1 s, success 1, failure 3). */
export function parseProbe(kind: ProbeKind, value: JsonObject, container: JsonObject, field: string, problems: string[]): ProbeSpec | undefined {
  const handler = parseHandler(value, container, field, problems, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  const probe: ProbeSpec = {
    kind,
    handler: handler ?? { type: 'exec', command: ['false'] },
    initialDelaySeconds: seconds(value.initialDelaySeconds, 0, 0, `${field}.initialDelaySeconds`, problems),
    periodSeconds: seconds(value.periodSeconds, 10, 1, `${field}.periodSeconds`, problems),
    timeoutSeconds: Math.min(seconds(value.timeoutSeconds, 1, 1, `${field}.timeoutSeconds`, problems), MAX_TIMEOUT_SECONDS),
    successThreshold: seconds(value.successThreshold, 1, 1, `${field}.successThreshold`, problems),
    failureThreshold: seconds(value.failureThreshold, 3, 1, `${field}.failureThreshold`, problems),
    terminationGracePeriodSeconds: undefined,
  };
  if (kind !== 'readiness' && probe.successThreshold !== 1) problems.push(`${field}.successThreshold: Invalid value: ${probe.successThreshold}: must be 1`);
  if (value.terminationGracePeriodSeconds !== undefined && value.terminationGracePeriodSeconds !== null) {
    if (kind === 'readiness') problems.push(`${field}.terminationGracePeriodSeconds: Invalid value: must not be set for readinessProbes`);
    else probe.terminationGracePeriodSeconds = seconds(value.terminationGracePeriodSeconds, 1, 1, `${field}.terminationGracePeriodSeconds`, problems);
  }
  return handler ? probe : undefined;
}

/** The container's probes; `problems` collects what the API server would refuse. */
export function containerProbes(container: JsonObject, field: string, problems: string[] = []): ContainerProbes {
  const out: ContainerProbes = {};
  for (const kind of ['liveness', 'readiness', 'startup'] as const) {
    const value = obj(container[FIELDS[kind]]);
    if (!value) continue;
    const probe = parseProbe(kind, value, container, `${field}.${FIELDS[kind]}`, problems);
    if (probe) out[kind] = probe;
  }
  return out;
}

/** The container's postStart and preStop hooks (exec and httpGet). */
export function containerHooks(container: JsonObject, field: string, problems: string[] = []): LifecycleHooks {
  const lifecycle = obj(container.lifecycle);
  const out: LifecycleHooks = {};
  if (!lifecycle) return out;
  for (const hook of ['postStart', 'preStop'] as const) {
    const value = obj(lifecycle[hook]);
    if (!value) continue;
    const handler = parseHandler(value, container, `${field}.lifecycle.${hook}`, problems, ['exec', 'httpGet']);
    if (handler) out[hook] = handler;
  }
  return out;
}

/** What validation finds wrong with one container's probes and hooks (`init`: plain init containers may have neither probes nor hooks). */
export function probeProblems(container: JsonObject, field: string, init: boolean, sidecar: boolean): string[] {
  const problems: string[] = [];
  if (init && !sidecar) {
    for (const name of [...Object.values(FIELDS), 'lifecycle']) {
      if (container[name] !== undefined && container[name] !== null) problems.push(`${field}.${name}: Forbidden: may not be set for init containers without restartPolicy=Always`);
    }
    return problems;
  }
  containerProbes(container, field, problems);
  containerHooks(container, field, problems);
  return problems;
}
