/**
 * The peer's connection IDs (RFC 9000 §5.1): the one in use as our Destination Connection ID,
 * those announced with NEW_CONNECTION_ID (kept up to our active_connection_id_limit), the
 * retirements owed to the peer (RETIRE_CONNECTION_ID), and the stateless reset tokens that
 * came with them (§10.3). We issue no connection IDs beyond the handshake's.
 */
import {TransportError, wireError, type WireError} from './errors.js';

interface PeerCid {
  seq: number;
  cid: Buffer;
}

const NEW_CONNECTION_ID = 0x18;

export class PeerCids {
  /** The Destination Connection ID in use. */
  current: Buffer = Buffer.alloc(0);
  /** Stateless reset tokens of every connection ID the peer gave us (bounded). */
  readonly resetTokens: Buffer[] = [];
  /** Sequence numbers to retire with RETIRE_CONNECTION_ID (bounded). */
  readonly retireQueue: number[] = [];
  private cids: PeerCid[] = [];
  private currentSeq = 0;
  private retirePriorTo = 0;

  constructor(
    /** Our active_connection_id_limit. */
    private readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  /** The connection ID of sequence 0: the client's random DCID, then the server's SCID. */
  setInitial(cid: Buffer): void {
    const c0 = this.cids.find((c) => c.seq === 0);
    if (c0 !== undefined) c0.cid = cid;
    else this.cids.push({seq: 0, cid});
    if (this.currentSeq === 0) this.current = cid;
  }

  addResetToken(token: Buffer): void {
    if (this.resetTokens.length < 4 * this.limit + 8) this.resetTokens.push(token);
  }

  queueRetire(seq: number): void {
    if (this.retireQueue.length < this.maxQueued) this.retireQueue.push(seq);
  }

  /** A NEW_CONNECTION_ID frame; returns the error to close with, or null. */
  onNewConnectionId(seq: number, retirePriorTo: number, cid: Buffer, token: Buffer): WireError | null {
    const known = this.cids.find((c) => c.seq === seq);
    if (known !== undefined) {
      if (!known.cid.equals(cid)) return wireError(TransportError.PROTOCOL_VIOLATION, 'NEW_CONNECTION_ID reuses a sequence number', NEW_CONNECTION_ID);
      return null;
    }
    this.addResetToken(token);
    if (seq < this.retirePriorTo) {
      this.queueRetire(seq);
      return null;
    }
    this.cids.push({seq, cid});
    if (retirePriorTo > this.retirePriorTo) {
      this.retirePriorTo = retirePriorTo;
      for (const c of this.cids) if (c.seq < retirePriorTo) this.queueRetire(c.seq);
      this.cids = this.cids.filter((c) => c.seq >= retirePriorTo);
      if (this.currentSeq < retirePriorTo) {
        // Move to the oldest connection ID still valid.
        const next = this.cids.reduce<PeerCid | null>((a, c) => (a === null || c.seq < a.seq ? c : a), null);
        if (next !== null) {
          this.currentSeq = next.seq;
          this.current = next.cid;
        }
      }
    }
    if (this.cids.length > this.limit) return wireError(TransportError.CONNECTION_ID_LIMIT_ERROR, 'too many connection IDs', NEW_CONNECTION_ID);
    return null;
  }
}
