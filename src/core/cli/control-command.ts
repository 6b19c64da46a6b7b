/**
 * Base of the commands that talk to a node's control service (receptorctl's global options,
 * control-service.md §8.1): --socket, --config/--tls-client, --rootcas/--cert/--key,
 * --insecureskipverify, and a helper that connects and checks the greeting.
 */
import {Flags} from '@oclif/core';
import {ControlClient, resolveControlTls} from '../control/client.js';
import {parseControlAddress} from '../control/address.js';
import {ReceptorError} from '../errors.js';
import {ReceptorCommand} from './base.js';

const GROUP = 'CONNECTION';

/** The shared connection flags. */
export const controlFlags = {
  socket: Flags.string({
    char: 's',
    env: 'RECEPTORCTL_SOCKET',
    required: true,
    helpGroup: GROUP,
    summary: 'Control socket address: PATH, unix:PATH, tcp://HOST:PORT or tls://HOST:PORT.',
  }),
  config: Flags.string({
    char: 'c',
    env: 'RECEPTORCTL_CONFIG',
    helpGroup: GROUP,
    summary: 'Receptor YAML config to read the --tls-client item from (for tls:// sockets).',
  }),
  'tls-client': Flags.string({
    env: 'RECEPTORCTL_TLSCLIENT',
    helpGroup: GROUP,
    summary: 'Name of the tls-client item in --config used to connect to a tls:// socket.',
  }),
  rootcas: Flags.string({helpGroup: GROUP, summary: 'CA bundle to verify a tls:// socket with, instead of the system trust store.'}),
  cert: Flags.string({helpGroup: GROUP, summary: 'Client certificate for a tls:// socket (with --key).'}),
  key: Flags.string({helpGroup: GROUP, summary: 'Client private key for a tls:// socket (with --cert).'}),
  insecureskipverify: Flags.boolean({
    helpGroup: GROUP,
    summary: 'Skip the host-name check of a tls:// socket (the certificate chain is still verified).',
  }),
};

/** The same flags with --socket optional (for commands that also work without a node). */
export const optionalControlFlags = {
  ...controlFlags,
  socket: Flags.string({
    char: 's',
    env: 'RECEPTORCTL_SOCKET',
    helpGroup: GROUP,
    summary: 'Control socket address: PATH, unix:PATH, tcp://HOST:PORT or tls://HOST:PORT.',
  }),
};

export interface ControlFlagValues {
  socket?: string;
  config?: string;
  'tls-client'?: string;
  rootcas?: string;
  cert?: string;
  key?: string;
  insecureskipverify?: boolean;
}

/** Click's boolean words (receptorctl takes `--insecureskipverify true`). */
const TRUE_WORDS = new Set(['1', 'true', 't', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'f', 'no', 'n', 'off']);

/**
 * Rewrites receptorctl's `--insecureskipverify VALUE` / `--insecureskipverify=VALUE` into the
 * plain boolean flag (a false value drops it). A value that is not one of click's boolean
 * words is not consumed. Tokens after `--` are left alone.
 */
export function normalizeInsecureFlag(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--insecureskipverify=')) {
      const v = a.slice('--insecureskipverify='.length).toLowerCase();
      if (TRUE_WORDS.has(v)) out.push('--insecureskipverify');
      else if (!FALSE_WORDS.has(v)) out.push(a); // not a boolean word: the parser reports it
      continue;
    }
    const next = argv[i + 1];
    if (a === '--insecureskipverify' && next !== undefined) {
      const v = next.toLowerCase();
      if (TRUE_WORDS.has(v) || FALSE_WORDS.has(v)) {
        if (TRUE_WORDS.has(v)) out.push(a);
        i++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

/**
 * Connects to the control socket named by the flags and reads the greeting. Errors:
 * E_USAGE (bad address or TLS options), E_CONNECT (`Could not connect to host H port P: …`,
 * `Socket path does not exist: …`, `Failed to connect to Receptor socket: …`).
 */
export async function openControlClient(flags: ControlFlagValues, opts: {timeoutMs?: number} = {}): Promise<ControlClient> {
  if (!flags.socket) throw new ReceptorError('E_USAGE', 'Missing required flag socket (--socket or RECEPTORCTL_SOCKET)');
  const address = parseControlAddress(flags.socket);
  const tls = resolveControlTls({
    config: flags.config,
    tlsClient: flags['tls-client'],
    rootcas: flags.rootcas,
    cert: flags.cert,
    key: flags.key,
    insecureSkipVerify: flags.insecureskipverify,
  });
  return ControlClient.connect(address, {tls, timeoutMs: opts.timeoutMs});
}

/** A command that talks to a node's control service. */
export abstract class ControlCommand extends ReceptorCommand {
  static override baseFlags = controlFlags;

  public override async init(): Promise<void> {
    this.argv = normalizeInsecureFlag(this.argv);
    await super.init();
  }

  /** Opens a client from the parsed flags. */
  protected openClient(flags: ControlFlagValues): Promise<ControlClient> {
    return openControlClient(flags);
  }

  /** A pause between requests. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
