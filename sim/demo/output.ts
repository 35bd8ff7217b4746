/**
 * The demo's terminal output. Its stdout is often a pipe (`npm start 2>&1 | tee log`) whose
 * reader can go first: Ctrl-C reaches tee as well, `| head` exits early. A write then fails with
 * EPIPE; unhandled, that error would kill the demo before it stopped the Pods, which outlive
 * their agents. Here a failed write means "nobody is watching": the demo is told once, and
 * every later write (the stop messages included) is dropped instead of thrown.
 */
export class DemoOutput {
  private gone = false;

  constructor(private readonly onGone: (reason: string) => void) {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => this.lost(err));
    // With 2>&1 stderr is the same pipe: nothing left to tell anyone.
    process.stderr.on('error', () => undefined);
  }

  get closed(): boolean {
    return this.gone;
  }

  write(text: string): void {
    if (this.gone) return;
    try {
      process.stdout.write(text);
    } catch (err) {
      this.lost(err as NodeJS.ErrnoException);
    }
  }

  line(text: string): void {
    this.write(`${text}\n`);
  }

  error(text: string): void {
    try {
      process.stderr.write(`${text}\n`);
    } catch {
      // stderr is gone too
    }
  }

  private lost(err: NodeJS.ErrnoException): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone(`stdout ${err.code ?? err.message}`);
  }
}
