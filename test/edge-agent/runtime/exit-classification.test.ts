/** How an instance ended, from the facts the pod worker gathers: each rule of classifyExit, in order. */
import { describe, expect, it } from 'vitest';
import { classifyExit, exitEvent, type ExitFacts } from '../../../edge-agent/runtime/exit-classification.js';
import type { KillRequest } from '../../../edge-agent/runtime/pod-state.js';

const facts = (extra: Partial<ExitFacts> = {}): ExitFacts => ({ pid: 4242, startedAt: 10_000, noticedAt: 20_000, exitFileText: '', oomRose: false, ...extra });
const term = (extra: Partial<KillRequest> = {}): KillRequest => ({ signal: 'SIGTERM', requestedAt: 15_000, deadline: 45_000, reason: 'Stopping container', ...extra });

describe('classifyExit', () => {
  it('takes the code the exit wrapper wrote: 0 is Completed, anything else Error, dated by the file', () => {
    expect(classifyExit(facts({ exitFileText: '0\n', exitFileMtimeMs: 18_500.7 }))).toEqual({
      exitCode: 0,
      reason: 'Completed',
      startedAt: 10_000,
      finishedAt: 18_500,
      containerID: 'process://4242',
    });
    expect(classifyExit(facts({ exitFileText: '3\n', exitFileMtimeMs: 19_000 }))).toMatchObject({ exitCode: 3, reason: 'Error', finishedAt: 19_000 });
  });

  it('never dates an exit before the start or after it was noticed', () => {
    expect(classifyExit(facts({ exitFileText: '1', exitFileMtimeMs: 5_000 })).finishedAt).toBe(10_000);
    expect(classifyExit(facts({ exitFileText: '1', exitFileMtimeMs: 99_000 })).finishedAt).toBe(20_000);
    // No file: the exit is dated when it was noticed.
    expect(classifyExit(facts({ killing: term({ signal: 'SIGKILL' }) })).finishedAt).toBe(20_000);
  });

  it('names the signal only when the runtime sent it', () => {
    expect(classifyExit(facts({ exitFileText: '143', killing: term({ termSent: true }) }))).toMatchObject({ exitCode: 143, signal: 15, reason: 'Error' });
    // Asked to stop but SIGTERM not sent yet: 143 is the command's own business.
    expect(classifyExit(facts({ exitFileText: '143', killing: term() })).signal).toBeUndefined();
    expect(classifyExit(facts({ exitFileText: '143' })).signal).toBeUndefined();
    expect(classifyExit(facts({ exitFileText: '137', killing: term({ signal: 'SIGKILL' }) }))).toMatchObject({ exitCode: 137, signal: 9, reason: 'Error' });
  });

  it('a 137 the runtime did not send is OOMKilled when the OOM counter rose', () => {
    expect(classifyExit(facts({ exitFileText: '137', oomRose: true }))).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(classifyExit(facts({ exitFileText: '137', oomRose: true })).signal).toBeUndefined();
    expect(classifyExit(facts({ exitFileText: '137', oomRose: false })).reason).toBe('Error');
    // The runtime's own SIGKILL explains the 137, whatever the counter did.
    expect(classifyExit(facts({ exitFileText: '137', oomRose: true, killing: term({ signal: 'SIGKILL' }) })).reason).toBe('Error');
  });

  it('without an exit code: the SIGKILL or SIGTERM the runtime sent explains it', () => {
    expect(classifyExit(facts({ killing: term({ signal: 'SIGKILL' }) }))).toMatchObject({ exitCode: 137, signal: 9, reason: 'Error' });
    expect(classifyExit(facts({ exitFileText: 'garbage', killing: term({ termSent: true }) }))).toMatchObject({ exitCode: 143, signal: 15, reason: 'Error' });
  });

  it('without an exit code or a kill: the signal that ended the own child, then the OOM counter', () => {
    expect(classifyExit(facts({ childSignal: 'SIGSEGV' }))).toMatchObject({ exitCode: 139, signal: 11, reason: 'Error' });
    expect(classifyExit(facts({ childSignal: 'SIGKILL', oomRose: true }))).toMatchObject({ exitCode: 137, signal: 9, reason: 'OOMKilled' });
    expect(classifyExit(facts({ childSignal: null, oomRose: true }))).toMatchObject({ exitCode: 137, signal: 9, reason: 'OOMKilled' });
  });

  it('with nothing to go by, the container status is unknown', () => {
    const unknown = classifyExit(facts());
    expect(unknown).toMatchObject({ exitCode: 137, reason: 'ContainerStatusUnknown' });
    expect(unknown.signal).toBeUndefined();
    expect(unknown.message).toMatch(/without an exit code/);
  });
});

describe('exitEvent', () => {
  it('is Normal for Completed, a Warning otherwise, naming reasons other than Completed and Error', () => {
    const at = { startedAt: 0, finishedAt: 0, containerID: '' };
    expect(exitEvent('main', { ...at, exitCode: 0, reason: 'Completed' })).toEqual({ container: 'main', type: 'Normal', reason: 'Completed', message: 'Container main exited with code 0' });
    expect(exitEvent('main', { ...at, exitCode: 2, reason: 'Error' })).toEqual({ container: 'main', type: 'Warning', reason: 'Error', message: 'Container main exited with code 2' });
    expect(exitEvent('main', { ...at, exitCode: 137, reason: 'OOMKilled' })).toEqual({ container: 'main', type: 'Warning', reason: 'OOMKilled', message: 'Container main exited with code 137 (OOMKilled)' });
    expect(exitEvent('main', { ...at, exitCode: 137, reason: 'ContainerStatusUnknown' })).toMatchObject({ type: 'Warning', reason: 'Error', message: 'Container main exited with code 137 (ContainerStatusUnknown)' });
  });
});
