/**
 * Protocol v1 frames: one schema per frame type, and the TypeScript types derived from them.
 * protocol/README.md is the normative description; keep the two in step.
 */
import { z } from './zod.js';
import { isKey, keyError } from './keys.js';
import { dns1123SubdomainError } from './names.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';

export const PROTOCOL_VERSION = 1;
/** Default limit on one frame's encoded size: 4 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

const jsonObject = z.custom<JsonObject>(isJsonObject, { message: 'expected a JSON object' });
const jsonValue = z.custom<JsonValue>((value) => value !== undefined, { message: 'expected a JSON value' });
const key = z.string().check(
  z.maxLength(1024),
  z.refine(isKey, { error: (issue) => `invalid object key: ${keyError(String(issue.input))}` }),
);
const rv = z.string().check(z.minLength(1), z.maxLength(128));
const nodeName = z.string().check(
  z.superRefine((name, ctx) => {
    const why = dns1123SubdomainError(name);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: `invalid node name: ${why}` });
  }),
);
const seq = z.int().check(z.gte(0));
const stringMap = z.record(z.string(), z.string());

function frame<T extends string, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  return z.object({ v: z.literal(PROTOCOL_VERSION), t: z.literal(type), ...shape });
}

// ---- edge -> cloud -------------------------------------------------------------------------

export const NodeInfoSchema = z.object({
  arch: z.string().check(z.maxLength(64)),
  os: z.string().check(z.maxLength(64)),
  kernel: z.optional(z.string().check(z.maxLength(256))),
  hostname: z.optional(z.string().check(z.maxLength(253))),
  /** Kubernetes quantities: `cpu`, `memory`, `pods`, ... */
  capacity: stringMap,
  allocatable: z.optional(stringMap),
  labels: z._default(stringMap, {}),
  addresses: z.optional(z.array(z.object({ type: z.string(), address: z.string() })).check(z.maxLength(16))),
  /** Taints for the Node when the hub creates it (the kubelet's --register-with-taints). */
  taints: z.optional(
    z.array(z.object({ key: z.string().check(z.maxLength(317)), value: z.optional(z.string().check(z.maxLength(63))), effect: z.string().check(z.maxLength(32)) })).check(z.maxLength(32)),
  ),
});

export const HelloSchema = frame('hello', {
  node: nodeName,
  agent: z.string().check(z.maxLength(64)),
  caps: z.array(z.string().check(z.maxLength(64))).check(z.maxLength(64)),
  info: NodeInfoSchema,
  digest: z.string().check(z.maxLength(128)),
  have: z.array(z.tuple([key, rv])),
  /**
   * Session id chosen by the agent for this hello; the hub echoes it in `welcome`. Over a
   * broker, frames queued for an earlier session can arrive first: the agent ignores
   * everything before the welcome that carries its sid.
   */
  sid: z.optional(z.string().check(z.maxLength(64))),
});

export const AckSchema = frame('ack', {
  /** Edge -> cloud: every `sync` frame up to and including this one is committed. */
  seq: z.optional(seq),
  /** Cloud -> edge: these `status`/`event` ids are handled and can leave the outbox. */
  ids: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(128)))),
}).check(z.refine((ack) => ack.seq !== undefined || ack.ids !== undefined, { message: 'ack needs seq or ids' }));

export const NeedSchema = frame('need', {
  keys: z.array(key).check(z.minLength(1)),
});

export const PodStatusReportSchema = z.object({
  ns: z.string().check(z.maxLength(63)),
  name: z.string().check(z.maxLength(253)),
  uid: z.string().check(z.maxLength(64)),
  status: jsonObject,
});

export const StatusSchema = frame('status', {
  /** Unique per report; the hub acks it with `ack.ids`. */
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  pods: z.array(PodStatusReportSchema).check(z.minLength(1)),
});

export const HeartbeatSchema = frame('heartbeat', {
  /** The agent's wall clock in ms since the epoch. */
  ts: z.number(),
});

/**
 * Where an event came from on the node: the agent sends only these. The hub accepts any short
 * string (a newer agent may know more sources), and turns `pod`, `container`, `node` and `agent`
 * events into Kubernetes Events.
 */
export const EVENT_SOURCES = ['pod', 'container', 'node', 'agent', 'bus'] as const;

/** Lengths the `event` frame allows (the agent's filter turns away candidates that break them). */
export const EVENT_LIMITS = { id: 128, source: 32, type: 32, reason: 128, message: 8192, topic: 1024 } as const;

export const EdgeEventSchema = z.object({
  /** Unique at birth; the hub de-duplicates on it. */
  id: z.string().check(z.minLength(1), z.maxLength(EVENT_LIMITS.id)),
  /** When the event happened, ms since the epoch (agent clock). */
  ts: z.number(),
  /** Where it came from (EVENT_SOURCES). */
  source: z.string().check(z.maxLength(EVENT_LIMITS.source)),
  /** `Normal` or `Warning` for Kubernetes-style events; free for bus messages. */
  type: z.string().check(z.maxLength(EVENT_LIMITS.type)),
  reason: z.string().check(z.maxLength(EVENT_LIMITS.reason)),
  message: z.optional(z.string().check(z.maxLength(EVENT_LIMITS.message))),
  /** Key of the involved object, for example `Pod/default/web-0`. */
  object: z.optional(key),
  /** Local MQTT topic, for bus messages. */
  topic: z.optional(z.string().check(z.maxLength(EVENT_LIMITS.topic))),
  payload: z.optional(jsonValue),
  priority: z.int().check(z.gte(0), z.lte(9)),
  /** How many occurrences this event stands for (aggregates, repeats). */
  count: z.optional(z.int().check(z.gte(1))),
  /** ms since the epoch after which the event is worthless. */
  expires: z.optional(z.number()),
});

export const EventSchema = frame('event', {
  events: z.array(EdgeEventSchema).check(z.minLength(1)),
});

// ---- cloud -> edge -------------------------------------------------------------------------

export const WelcomeSchema = frame('welcome', {
  /** Hub replica id, for logs. */
  hub: z.string().check(z.maxLength(128)),
  /** Heartbeat interval the agent must keep, ms. */
  hb: z.int().check(z.positive()),
  /** Largest frame the hub accepts, bytes. */
  max: z.int().check(z.positive()),
  /** Hub wall clock, ms since the epoch (lets the agent notice clock skew). */
  ts: z.number(),
  /** The `sid` of the hello this answers. */
  sid: z.optional(z.string().check(z.maxLength(64))),
});

export const PutOpSchema = z.object({ op: z.literal('put'), key, rv, obj: jsonObject });
export const PatchOpSchema = z.object({ op: z.literal('patch'), key, rv, baseRv: rv, patch: jsonObject });
export const DelOpSchema = z.object({ op: z.literal('del'), key });
export const SyncOpSchema = z.discriminatedUnion('op', [PutOpSchema, PatchOpSchema, DelOpSchema]);

export const SyncSchema = frame('sync', {
  /** 1, 2, 3, ... per connection; the agent acks cumulatively. */
  seq: seq.check(z.gte(1)),
  ops: z.array(SyncOpSchema).check(z.minLength(1)),
});

export const SyncedSchema = frame('synced', {
  /** The last `sync` seq that belongs to the resync (0 when nothing was sent). */
  seq,
  /** Digest of the node's desired set as the hub holds it at the end of the resync. */
  digest: z.string().check(z.maxLength(128)),
  /** Number of objects in that set. */
  n: z.int().check(z.gte(0)),
});

export const ErrorSchema = frame('error', {
  code: z.string().check(z.maxLength(64)),
  msg: z.string().check(z.maxLength(4096)),
  /** The `seq` of the frame that caused it, when it had one. */
  seq: z.optional(seq),
  /** The type of the frame that caused it, when known. */
  ref: z.optional(z.string().check(z.maxLength(64))),
});

/** A tunnel id: 128 random bits, base64url without padding (22 characters). */
export const TUNNEL_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** The `caps` entry by which an agent says it answers `tunnel` frames. */
export const TUNNEL_CAP = 'tunnel';

export const TunnelSchema = frame('tunnel', {
  /** Names the tunnel: the agent dials `/edge/v1/<node>/tunnel/<id>` (protocol/websocket.ts). */
  id: z.string().check(z.regex(TUNNEL_ID_PATTERN, { message: 'tunnel id must be 22 base64url characters (128 bits)' })),
  /** What it is for (`log`, `exec`, ...), for the agent's logs only. */
  purpose: z.optional(z.string().check(z.maxLength(32))),
});

export const FRAME_SCHEMAS = {
  hello: HelloSchema,
  ack: AckSchema,
  need: NeedSchema,
  status: StatusSchema,
  heartbeat: HeartbeatSchema,
  event: EventSchema,
  welcome: WelcomeSchema,
  sync: SyncSchema,
  synced: SyncedSchema,
  error: ErrorSchema,
  tunnel: TunnelSchema,
} as const;

export type FrameType = keyof typeof FRAME_SCHEMAS;
export const FRAME_TYPES = Object.keys(FRAME_SCHEMAS) as FrameType[];

export type NodeInfo = z.infer<typeof NodeInfoSchema>;
export type HelloFrame = z.infer<typeof HelloSchema>;
export type AckFrame = z.infer<typeof AckSchema>;
export type NeedFrame = z.infer<typeof NeedSchema>;
export type PodStatusReport = z.infer<typeof PodStatusReportSchema>;
export type StatusFrame = z.infer<typeof StatusSchema>;
export type HeartbeatFrame = z.infer<typeof HeartbeatSchema>;
export type EdgeEvent = z.infer<typeof EdgeEventSchema>;
export type EventFrame = z.infer<typeof EventSchema>;
export type WelcomeFrame = z.infer<typeof WelcomeSchema>;
export type PutOp = z.infer<typeof PutOpSchema>;
export type PatchOp = z.infer<typeof PatchOpSchema>;
export type DelOp = z.infer<typeof DelOpSchema>;
export type SyncOp = z.infer<typeof SyncOpSchema>;
export type SyncFrame = z.infer<typeof SyncSchema>;
export type SyncedFrame = z.infer<typeof SyncedSchema>;
export type ErrorFrame = z.infer<typeof ErrorSchema>;
export type TunnelFrame = z.infer<typeof TunnelSchema>;

export type EdgeFrame = HelloFrame | AckFrame | NeedFrame | StatusFrame | HeartbeatFrame | EventFrame | ErrorFrame;
export type CloudFrame = WelcomeFrame | SyncFrame | SyncedFrame | AckFrame | ErrorFrame | TunnelFrame;
export type Frame = EdgeFrame | CloudFrame;

/** Frame types an agent may send; the hub answers anything else with `E_TYPE`. */
export const EDGE_FRAME_TYPES: readonly FrameType[] = ['hello', 'ack', 'need', 'status', 'heartbeat', 'event', 'error'];
/** Frame types a hub may send; the agent answers anything else with `E_TYPE`. */
export const CLOUD_FRAME_TYPES: readonly FrameType[] = ['welcome', 'sync', 'synced', 'ack', 'error', 'tunnel'];

/** A frame of type `T` without the `v` and `t` members, for building frames. */
export type FrameBody<F extends Frame> = Omit<F, 'v' | 't'>;
