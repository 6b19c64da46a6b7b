/**
 * An example third-party receptor plugin, installed with `receptor plugins install`. Its
 * `receptor:register` hook (package.json `oclif.hooks`) returns the config items it adds:
 * a unix-socket mesh backend and the example-heartbeat item.
 */
import type {RegisterHookResult} from 'receptor-mesh';
import {heartbeat} from './heartbeat.js';
import {unixsockListenerType, unixsockPeerType} from './items.js';

export default async function register(): Promise<RegisterHookResult> {
  return [unixsockListenerType, unixsockPeerType, heartbeat];
}
