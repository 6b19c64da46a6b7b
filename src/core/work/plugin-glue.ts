/** Glue between config items and the work manager (kept out of the plugin files so they load lazily). */
import type {Runtime} from '../config/types.js';
import {Netceptor} from '../netceptor/node.js';
import {commandTypeDef, type CommandTypeConfig} from './command.js';
import {remoteTypeDef} from './remote.js';
import {workVerificationOf} from './signing-registry.js';
import {workceptorOf, type Workceptor, type WorkTypeDef} from './workceptor.js';
import {ReceptorError} from '../errors.js';

/** Creates the node's work manager, registers `remote` and resumes units on disk (node Init). */
export async function initWorkceptor(rt: Runtime): Promise<Workceptor> {
  const wc = workceptorOf(rt);
  wc.checkDataDir();
  if (!wc.workType('remote')) await wc.registerType(remoteTypeDef);
  return wc;
}

/** Registers a work type and refreshes the control-service advertisement. */
export async function registerWorkType(rt: Runtime, def: WorkTypeDef): Promise<void> {
  const wc = workceptorOf(rt);
  await wc.registerType(def);
  if (rt.node instanceof Netceptor) rt.node.setWorkCommands(wc.advertisedTypes());
}

export async function registerCommandWorkType(rt: Runtime, cfg: CommandTypeConfig): Promise<void> {
  if (cfg.verifySignature && !workVerificationOf(rt)) {
    throw new ReceptorError('E_SIGNATURE', `VerifySignature for work command '${cfg.workType}' is true, but the work verification public key is not specified`);
  }
  await registerWorkType(rt, commandTypeDef(cfg));
}
