/**
 * A TCP proxy for link tests that can be cut and restored like a network partition: while
 * cut, nothing is read either way (data waits in the kernel, as with a real outage, and
 * TCP neither loses nor closes anything), new connections are held, and a close on one side
 * reaches the other only after the restore.
 */
import net from 'node:net';

interface Pair {
  a: net.Socket;
  b: net.Socket | undefined;
  closed: boolean;
}

export class CutProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private isCut = false;
  /** Times cut() started a cut. */
  cuts = 0;
  /** Connections accepted so far. */
  accepted = 0;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<this> {
    this.server = net.createServer((a) => this.accept(a));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  get cut(): boolean {
    return this.isCut;
  }

  private accept(a: net.Socket): void {
    this.accepted++;
    const p: Pair = {a, b: undefined, closed: false};
    this.pairs.add(p);
    a.on('error', () => {});
    a.on('close', () => this.closed(p));
    if (this.isCut) a.pause();
    else this.connect(p);
  }

  private connect(p: Pair): void {
    const b = net.connect(this.targetPort, '127.0.0.1');
    p.b = b;
    b.on('error', () => {});
    b.on('close', () => this.closed(p));
    this.forward(p.a, b);
    this.forward(b, p.a);
  }

  /** Copies `from` to `to` with back-pressure; a drain during a cut does not resume (no pipe()). */
  private forward(from: net.Socket, to: net.Socket): void {
    from.on('data', (d: Buffer) => {
      if (to.write(d)) return;
      from.pause();
      to.once('drain', () => {
        if (!this.isCut) from.resume();
      });
    });
    from.on('end', () => to.end());
  }

  private closed(p: Pair): void {
    p.closed = true;
    if (!this.isCut) this.drop(p);
  }

  private drop(p: Pair): void {
    p.a.destroy();
    p.b?.destroy();
    this.pairs.delete(p);
  }

  /** Starts a partition: both directions stop, also for connections made meanwhile. */
  cutNow(): void {
    if (this.isCut) return;
    this.isCut = true;
    this.cuts++;
    for (const p of this.pairs) {
      p.a.pause();
      p.b?.pause();
    }
  }

  /** Ends the partition: held data flows, held closes happen, held connections go through. */
  restore(): void {
    if (!this.isCut) return;
    this.isCut = false;
    for (const p of [...this.pairs]) {
      if (p.closed) this.drop(p);
      else if (!p.b) {
        p.a.resume();
        this.connect(p);
      } else {
        p.a.resume();
        p.b.resume();
      }
    }
  }

  async stop(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
