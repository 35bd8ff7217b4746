import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME_BYTES,
  ErrorCode,
  FRAME_TYPES,
  ProtocolError,
  decode,
  encode,
  encodeOp,
  encodePutOp,
  encodeSync,
  encodeSyncBytes,
  type Frame,
  type FrameType,
  type SyncOp,
} from '../../protocol/index.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'default', uid: 'u-1' },
  spec: { nodeName: 'edge-1', containers: [{ name: 'web', image: 'nginx' }] },
};

/** One valid example of every frame type; the round-trip test fails if a type is missing. */
const examples: Record<FrameType, Frame> = {
  hello: {
    v: 1,
    t: 'hello',
    node: 'edge-1',
    agent: '0.1.0',
    caps: ['patch'],
    info: { arch: 'arm64', os: 'linux', capacity: { cpu: '4', memory: '4Gi' }, labels: { site: 'a' } },
    digest: 'abc',
    have: [['Pod/default/web-0', 'r1'], ['Node//edge-1', 'r2']],
  },
  ack: { v: 1, t: 'ack', seq: 12 },
  need: { v: 1, t: 'need', keys: ['ConfigMap/default/cfg'] },
  status: { v: 1, t: 'status', id: 's-1', pods: [{ ns: 'default', name: 'web-0', uid: 'u-1', status: { phase: 'Running' } }] },
  heartbeat: { v: 1, t: 'heartbeat', ts: 1_700_000_000_000 },
  event: {
    v: 1,
    t: 'event',
    events: [{ id: 'e-1', ts: 1, source: 'bus', type: 'reading', reason: 'temperature', topic: 'sensors/t1', payload: { c: 21.5 }, priority: 3 }],
  },
  welcome: { v: 1, t: 'welcome', hub: 'hub-a', hb: 10_000, max: DEFAULT_MAX_FRAME_BYTES, ts: 1_700_000_000_000 },
  sync: {
    v: 1,
    t: 'sync',
    seq: 1,
    ops: [
      { op: 'put', key: 'Pod/default/web-0', rv: 'r1', obj: pod },
      { op: 'patch', key: 'ConfigMap/default/cfg', rv: 'r3', baseRv: 'r2', patch: { data: { a: '1', b: null } } },
      { op: 'del', key: 'Secret/default/old' },
    ],
  },
  synced: { v: 1, t: 'synced', seq: 1, digest: 'abc', n: 2 },
  error: { v: 1, t: 'error', code: 'E_SHAPE', msg: 'bad', seq: 3, ref: 'sync' },
  tunnel: { v: 1, t: 'tunnel', id: 'AAAAAAAAAAAAAAAAAAAAAA', purpose: 'log' },
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('codec round trip', () => {
  it.each(FRAME_TYPES)('%s survives encode then decode, from text and from bytes', (type) => {
    const frame = examples[type];
    expect(decode(encode(frame))).toEqual(frame);
    expect(decode(Buffer.from(encode(frame)))).toEqual(frame);
  });

  it('encodeSync with pre-encoded ops gives the same bytes as encode', () => {
    const sync = examples.sync as { seq: number; ops: SyncOp[] } & Frame;
    expect(encodeSync(sync.seq, sync.ops.map(encodeOp))).toBe(encode(sync));
  });

  it('encodeSyncBytes splices pre-encoded op bytes into the same bytes as encode, for any seq and op count', () => {
    const sync = examples.sync as { seq: number; ops: SyncOp[] } & Frame;
    // Non-ASCII text inside an op: its bytes are copied as they are.
    const ops: SyncOp[] = [...sync.ops, { op: 'put', key: 'ConfigMap/default/ünï', rv: 'r9', obj: { data: { greeting: 'grüße ✓' } } }];
    for (const count of [1, ops.length]) {
      const some = ops.slice(0, count);
      const bytes = encodeSyncBytes(12345, some.map((op) => Buffer.from(encodeOp(op))));
      expect(bytes.toString('utf8')).toBe(encode({ v: 1, t: 'sync', seq: 12345, ops: some } as Frame));
      expect(decode(bytes)).toEqual({ v: 1, t: 'sync', seq: 12345, ops: some });
    }
  });

  it('encodePutOp from object JSON text equals encodeOp of the parsed object', () => {
    expect(encodePutOp('Pod/default/web-0', 'r1', JSON.stringify(pod))).toBe(encodeOp({ op: 'put', key: 'Pod/default/web-0', rv: 'r1', obj: pod }));
  });

  it('refuses a tunnel id that is not 128 bits of base64url', () => {
    for (const id of ['', 'short', '../../../etc/passwd/xx', 'A'.repeat(23), 'AAAAAAAAAAAAAAAAAAAA/A']) {
      expect(codeOf(() => decode(JSON.stringify({ v: 1, t: 'tunnel', id })))).toBe('E_SHAPE');
    }
  });

  it('ignores unknown members, so newer peers can add optional fields', () => {
    const frame = decode('{"v":1,"t":"ack","seq":3,"future":true}');
    expect(frame).toEqual({ v: 1, t: 'ack', seq: 3 });
  });
});

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('codec bad input', () => {
  it('random bytes are E_JSON', () => {
    for (let i = 0; i < 50; i++) {
      const bytes = randomBytes(1 + (i * 37) % 300);
      bytes[0] = 0xff; // never a valid start of UTF-8 JSON
      expect(codeOf(() => decode(bytes))).toBe(ErrorCode.Json);
    }
  });

  it('refuses without capturing a stack trace, and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    for (const input of ['x', Buffer.from('not json'), '{"v":1,"t":"nope"}', '[1]']) {
      const err = caught(() => decode(input));
      expect(err).toBeInstanceOf(ProtocolError);
      // A flood of bad frames makes one of these per frame: the capture was most of their cost.
      expect((err as Error).stack ?? '').not.toMatch(/\n\s+at /);
      expect(Error.stackTraceLimit).toBe(before);
    }
    expect((caught(() => decode('x')) as ProtocolError).message).toMatch(/^frame is not valid JSON: /);
    // Errors that are not a peer's input keep their stack.
    expect(new Error('ours').stack).toMatch(/\n\s+at /);
  });

  it('truncated JSON is E_JSON', () => {
    const text = encode(examples.sync);
    for (const cut of [1, 10, text.length / 2, text.length - 1]) {
      expect(codeOf(() => decode(text.slice(0, cut)))).toBe(ErrorCode.Json);
    }
  });

  it('invalid UTF-8 inside a string is E_JSON, not a replacement character', () => {
    const bytes = Buffer.concat([Buffer.from('{"v":1,"t":"need","keys":["Pod/a/'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]);
    expect(codeOf(() => decode(bytes))).toBe(ErrorCode.Json);
  });

  it('a JSON value that is not an object is E_SHAPE', () => {
    expect(codeOf(() => decode('[1,2]'))).toBe(ErrorCode.Shape);
    expect(codeOf(() => decode('"hello"'))).toBe(ErrorCode.Shape);
  });

  it('wrong or missing v is E_VERSION', () => {
    expect(codeOf(() => decode('{"v":2,"t":"ack","seq":1}'))).toBe(ErrorCode.Version);
    expect(codeOf(() => decode('{"v":"1","t":"ack","seq":1}'))).toBe(ErrorCode.Version);
    expect(codeOf(() => decode('{"t":"ack","seq":1}'))).toBe(ErrorCode.Version);
  });

  it('unknown or missing t is E_TYPE', () => {
    expect(codeOf(() => decode('{"v":1,"t":"subscribe"}'))).toBe(ErrorCode.Type);
    expect(codeOf(() => decode('{"v":1}'))).toBe(ErrorCode.Type);
    expect(codeOf(() => decode('{"v":1,"t":"toString"}'))).toBe(ErrorCode.Type);
  });

  it('a type the receiver does not accept is E_TYPE', () => {
    expect(codeOf(() => decode(encode(examples.sync), { accept: ['hello', 'ack'] }))).toBe(ErrorCode.Type);
  });

  it.each([
    ['missing field', '{"v":1,"t":"sync","seq":1}', 'ops'],
    ['wrong type', '{"v":1,"t":"sync","seq":"1","ops":[]}', 'seq'],
    ['empty ops', '{"v":1,"t":"sync","seq":1,"ops":[]}', 'ops'],
    ['unknown op', '{"v":1,"t":"sync","seq":1,"ops":[{"op":"move","key":"Pod/a/b"}]}', 'ops.0.op'],
    ['bad key', '{"v":1,"t":"sync","seq":1,"ops":[{"op":"del","key":"pod-a"}]}', 'ops.0.key'],
    ['obj not an object', '{"v":1,"t":"sync","seq":1,"ops":[{"op":"put","key":"Pod/a/b","rv":"1","obj":[1]}]}', 'ops.0.obj'],
    ['bad node name', '{"v":1,"t":"hello","node":"Edge_1","agent":"x","caps":[],"info":{"arch":"x","os":"y","capacity":{}},"digest":"d","have":[]}', 'node'],
    ['ack with nothing', '{"v":1,"t":"ack"}', '(frame)'],
    ['priority out of range', '{"v":1,"t":"event","events":[{"id":"a","ts":1,"source":"bus","type":"x","reason":"r","priority":10}]}', 'events.0.priority'],
  ])('%s is E_SHAPE naming %s', (_name, text, path) => {
    let error: ProtocolError | undefined;
    try {
      decode(text);
    } catch (err) {
      error = err as ProtocolError;
    }
    expect(error?.code).toBe(ErrorCode.Shape);
    expect(error?.message).toContain(`at ${path}`);
  });

  it('a frame one byte over the limit is E_TOO_LARGE before parsing; at the limit it decodes', () => {
    const limit = 4096;
    const status = (pad: string): string =>
      encode({ v: 1, t: 'status', id: 's', pods: [{ ns: 'a', name: 'b', uid: 'c', status: { message: pad } }] });
    const atLimit = status('a'.repeat(limit - Buffer.byteLength(status(''))));
    expect(Buffer.byteLength(atLimit)).toBe(limit);
    expect(decode(atLimit, { maxBytes: limit }).t).toBe('status');
    expect(decode(Buffer.from(atLimit), { maxBytes: limit }).t).toBe('status');
    const over = `${atLimit} `;
    expect(codeOf(() => decode(over, { maxBytes: limit }))).toBe(ErrorCode.TooLarge);
    expect(codeOf(() => decode(Buffer.from(over), { maxBytes: limit }))).toBe(ErrorCode.TooLarge);
    // Not even parsed: broken JSON over the limit still reports the size.
    expect(codeOf(() => decode('{'.repeat(limit + 1), { maxBytes: limit }))).toBe(ErrorCode.TooLarge);
  });

  it('counts bytes, not characters, against the limit', () => {
    const text = `{"v":1,"t":"need","keys":["Pod/default/${'é'.repeat(3000)}"]}`;
    expect(text.length).toBeLessThan(4096);
    expect(codeOf(() => decode(text, { maxBytes: 4096 }))).toBe(ErrorCode.TooLarge);
  });
});
