/**
 * The exit-code recorder every container runs under: a few lines of POSIX sh, because
 * containers must outlive the agent (so the agent cannot waitpid() them after a restart) and a
 * Node process per container would cost tens of MB on a small device.
 *
 * The wrapper runs the command in the foreground and writes `$?` (128+n when the command died
 * of signal n) to fd 3, a file the runtime opened for this container instance. It does not
 * forward signals: the runtime signals the whole process group (the wrapper is its leader,
 * spawned detached), so the command gets SIGTERM/SIGINT straight from the kernel with default
 * dispositions. Running the command in the background and forwarding instead would not work
 * for SIGINT, which a non-interactive sh ignores in background jobs. The wrapper's own traps
 * are handlers, not `''` (ignore), because an ignored signal would stay ignored in the command
 * across exec; they keep the wrapper alive until the command has exited so it can record the
 * code. A SIGKILL to the group kills the wrapper too and leaves no exit file; the runtime
 * records that it sent SIGKILL before sending it.
 *
 * fds 3 (exit file) and 4 (bwrap's --info-fd) are closed for the command so it cannot write to
 * them and does not hold them open.
 */

/** The fd the wrapper writes the exit code to. */
export const EXIT_FD = 3;
/** The fd bwrap reports the sandbox's pid on (`--info-fd`). */
export const INFO_FD = 4;

export const WRAPPER_SCRIPT = [
  "trap ':' TERM INT HUP",
  `"$@" ${EXIT_FD}>&- ${INFO_FD}>&-`,
  'code=$?',
  `printf '%s\\n' "$code" >&${EXIT_FD}`,
  'exit "$code"',
].join('\n');

/** argv running `command` under the wrapper. */
export function wrapCommand(command: readonly string[], shell = '/bin/sh'): string[] {
  return [shell, '-c', WRAPPER_SCRIPT, 'edge-container', ...command];
}

/** The exit code in an exit file's text, or undefined when the wrapper did not get to write it. */
export function parseExitCode(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d{1,3}$/.test(trimmed)) return undefined;
  const code = Number(trimmed);
  return code <= 255 ? code : undefined;
}
