/** The log reader on files written here: CRI lines (partial P lines, since, timestamps, junk), tail across rotated files, limits, Go's time format. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { rfc3339Nano, tailStart, writeLogs, type LogReadOptions } from '../../../edge-agent/runtime/log-reader.js';
import type { LogSelection } from '../../../edge-agent/runtime/runtime-streams.js';
import { makeTempDir } from '../../helpers/tmp.js';

const dir = makeTempDir('edge-log-reader-');
afterAll(() => dir.remove());

function file(name: string, text: string): string {
  const at = path.join(dir.path, name);
  writeFileSync(at, text);
  return at;
}

async function read(selection: Partial<LogSelection> & { files: string[] }, options: Partial<LogReadOptions> = {}): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await writeLogs({ format: 'cri', copyTruncate: false, running: () => false, ...selection }, { follow: false, timestamps: false, ...options }, out, new AbortController().signal);
  return text;
}

const CRI = [
  '2026-01-01T00:00:01.000000001Z stdout F first',
  '2026-01-01T00:00:02.5Z stderr P part-',
  '2026-01-01T00:00:02.6Z stderr F two',
  'not a CRI line: no time',
  '2026-01-01T00:00:03Z stdout F third',
  '',
].join('\n');

describe('the log reader', () => {
  it('CRI lines: content only, partial lines joined, junk skipped; timestamps as written; since per line', async () => {
    const log = file('cri.log', CRI);
    expect(await read({ files: [log] })).toBe('first\npart-two\nthird\n');
    expect(await read({ files: [log] }, { timestamps: true })).toBe('2026-01-01T00:00:01.000000001Z first\n2026-01-01T00:00:02.5Z part-2026-01-01T00:00:02.6Z two\n2026-01-01T00:00:03Z third\n');
    expect(await read({ files: [log] }, { sinceMs: Date.parse('2026-01-01T00:00:02.55Z') })).toBe('two\nthird\n');
    expect(await read({ files: [log] }, { limitBytes: 8 })).toBe('first\npa');
  });

  it('tails across rotated files, oldest first', async () => {
    const old = file('raw.log.1', 'a\nb\nc\n');
    const live = file('raw.log', 'd\ne');
    // The end of the older file is where the last two lines begin.
    expect(await tailStart([old, live], 2)).toEqual({ file: 0, offset: 6 });
    expect(await read({ files: [old, live], format: 'raw' }, { tailLines: 2 })).toBe('d\ne');
    expect(await read({ files: [old, live], format: 'raw' }, { tailLines: 3 })).toBe('c\nd\ne');
    expect(await read({ files: [old, live], format: 'raw' }, { tailLines: 100 })).toBe('a\nb\nc\nd\ne');
    expect(await read({ files: [old, live], format: 'raw' })).toBe('a\nb\nc\nd\ne');
  });

  it('prints times as Go\'s RFC3339Nano: no trailing zeros, no fraction when whole', () => {
    expect(rfc3339Nano(Date.parse('2026-01-01T00:00:01.120Z'))).toBe('2026-01-01T00:00:01.12Z');
    expect(rfc3339Nano(Date.parse('2026-01-01T00:00:01Z'))).toBe('2026-01-01T00:00:01Z');
  });
});
