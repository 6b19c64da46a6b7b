/** The QUIC engines a test can use here: quiche (where its native binding loads) and TS (everywhere). */
import type {QuicEngine} from '../../src/core/netceptor/quic/engine.js';
import {quicheAvailable, quicheEngine} from '../../src/core/netceptor/quic/quiche.js';
import {TsQuicEngine} from '../../src/core/netceptor/quic/ts/engine.js';

export type EngineName = 'quiche' | 'ts';
export const ENGINE_NAMES: readonly EngineName[] = ['quiche', 'ts'];

/** Why an engine cannot be used in this process ('' = it can). */
export function engineUnavailable(name: EngineName): string {
  if (name === 'quiche' && !quicheAvailable()) return `native quiche binding not loadable on ${process.platform}-${process.arch}`;
  return '';
}

/** A fresh engine instance (TS) or the process's binding (quiche). */
export function makeEngine(name: EngineName): QuicEngine {
  return name === 'quiche' ? quicheEngine() : new TsQuicEngine();
}

const said = new Set<string>();
/** Skips the current test (or hook) with a message printed once per reason. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  if (!said.has(reason)) {
    said.add(reason);
    process.stderr.write(`    [skipped] ${reason}\n`);
  }
  ctx.skip();
}
