/** The `sync` frames sent to a node and not yet acked, bounded so a slow node cannot pile up frames. */

export interface InflightFrame {
  seq: number;
  /** Event times of the watch changes the frame carries, for the delivery latency metric. */
  eventTimes: number[];
}

export class InflightWindow {
  private readonly frames: InflightFrame[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.frames.length;
  }

  get full(): boolean {
    return this.frames.length >= this.capacity;
  }

  push(frame: InflightFrame): void {
    this.frames.push(frame);
  }

  /** Removes every frame up to and including `seq` (acks are cumulative) and returns them. */
  ack(seq: number): InflightFrame[] {
    let count = 0;
    while (count < this.frames.length && (this.frames[count] as InflightFrame).seq <= seq) count++;
    return this.frames.splice(0, count);
  }
}
