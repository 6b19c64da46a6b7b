import {Args, Flags} from '@oclif/core';
import {createReadStream, openSync, readFileSync} from 'node:fs';
import {homedir} from 'node:os';
import type {Readable} from 'node:stream';
import {ControlCommand, openControlClient} from '../../core/cli/control-command.js';
import {submitWork, WorkSubmitError, type ClientOpener} from '../../core/control/work-client.js';
import {errorCodeOf, errorMessage, ReceptorError} from '../../core/errors.js';
import {errnoText} from '../../core/go/errno.js';
import {followToOutput, opOnUnits, unitFailure, type FollowJson} from '../../core/cli/work.js';

/** The --json output of `work submit`. */
export interface SubmitJson extends Partial<FollowJson> {
  /** `Job Started` or `Job Submitted`. */
  result: string;
  unitid: string;
  /** With --rm: the release reply key (`released`, `release pending`). */
  released?: string;
  /** With --rm: why the release failed. */
  releaseError?: string;
}

/** receptorctl's exit code for any failure of the submission itself. */
const SUBMIT_FAILED = 101;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

/**
 * The runtime parameters, as receptorctl builds them: `-p KEY=VALUE` pairs (a later key wins;
 * a value `@FILE`, but not `@@…`, is replaced by the file's contents), `--params STR` as the
 * `params` key, and the extra positional words appended to `params` with spaces.
 */
export function buildParams(pairs: string[], paramsFlag: string | undefined, words: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i < 0) {
      throw new ReceptorError('E_USAGE', `--param must be KEY=VALUE, not ${JSON.stringify(p)} (for a payload file use --payload FILE; receptorctl's -p is --payload)`);
    }
    const key = p.slice(0, i);
    let value = p.slice(i + 1);
    if (value.startsWith('@') && !value.startsWith('@@')) {
      const file = expandHome(value.slice(1));
      try {
        value = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ReceptorError('E_USAGE', `Failed to read the file for parameter ${key}: ${file}: ${errnoText(err)}`);
      }
    }
    params[key] = value;
  }
  if (paramsFlag !== undefined) {
    if (Object.hasOwn(params, 'params')) throw new ReceptorError('E_USAGE', 'Cannot use both --params and --param params=...');
    params.params = paramsFlag;
  }
  if (words.length > 0) {
    const all = Object.hasOwn(params, 'params') ? [params.params, ...words] : words;
    params.params = all.join(' ');
  }
  return params;
}

export default class WorkSubmit extends ControlCommand {
  static override summary = 'Submit a unit of work.';
  static override description = `Creates a unit of work of type WORKTYPE (a work-command item of the target node) and uploads its standard input (the payload), like "receptorctl work submit". Exactly one payload option is required: --payload FILE (or - for this program's standard input), -l/--payload-literal TEXT (sends TEXT and a newline), or -n/--no-payload. Prints "Result: Job Started" (or "Job Submitted" when a remote node could not be reached yet; the node keeps trying) and "Unit ID: <id>".

Parameters: -p/--param KEY=VALUE (repeatable; -a like receptorctl) adds a runtime parameter (a VALUE of @FILE is replaced by the file's contents); --params STR is short for --param params=STR, the extra arguments appended to the command line of a work-command that allows runtime params; extra words after WORKTYPE are appended to params too.

--node N runs the unit on node N: the node at --socket creates a "remote" unit that forwards the work over the mesh (--tls-client-name names its tls-client item for that connection, receptorctl's "work submit --tls-client"; here --tls-client is the control socket's own TLS setting; --ttl limits how long the remote start may take; --signwork signs the request).

-f/--follow copies the unit's output to standard output until it finishes (nothing else is printed on stdout), then exits 1 with "ERROR: Remote unit failed: <detail>" on stderr if the unit failed, or "ERROR: Remote unit was canceled: <detail>" if it was canceled meanwhile. --rm releases the unit afterwards (also when it failed) and reports "(<unitid>, released)" (on stderr with --follow).

Exit codes: 1 for a bad payload option or an unreadable payload file, or a failed/canceled unit with --follow; 101 when the submission fails (connection, unknown work type, refused parameters, ...), like receptorctl.

With --json: {"result", "unitid"}; with --follow also {"state", "stateName", "detail", "stdoutSize", "bytes", "output"} (the output collected, UTF-8); with --rm also "released" (or "releaseError").`;
  static override examples = [
    '<%= config.bin %> work submit echo -l hello -f --socket /tmp/foo.sock',
    'cat job.txt | <%= config.bin %> work submit echo --payload - --node bar --socket /tmp/foo.sock',
    '<%= config.bin %> work submit sleep --no-payload --params 5 --socket /tmp/foo.sock',
  ];
  static override args = {
    worktype: Args.string({required: true, description: 'Work type on the target node.', ignoreStdin: true}),
    cmdparams: Args.string({multiple: true, description: 'Words appended to the "params" parameter.', ignoreStdin: true}),
  };
  static override flags = {
    node: Flags.string({summary: 'Node to run the unit on (default: the node at --socket).'}),
    payload: Flags.string({char: 'p', summary: 'File to send as the unit\'s standard input ("-" = this program\'s standard input).'}),
    'payload-literal': Flags.string({char: 'l', summary: "Send TEXT and a newline as the unit's standard input."}),
    'no-payload': Flags.boolean({char: 'n', summary: 'Send an empty standard input.'}),
    param: Flags.string({
      char: 'a',
      multiple: true,
      multipleNonGreedy: true,
      summary: "Runtime parameter KEY=VALUE (repeatable; VALUE @FILE = the file's contents).",
    }),
    params: Flags.string({summary: 'Short for --param params=STR (arguments for a work-command with allowruntimeparams).'}),
    follow: Flags.boolean({char: 'f', summary: "Copy the unit's output to standard output until it finishes."}),
    rm: Flags.boolean({summary: 'Release the unit afterwards.'}),
    'tls-client-name': Flags.string({
      aliases: ['tlsclient', 'tls-client'],
      default: '',
      summary: 'tls-client item (on the node at --socket) for the mesh connection to a remote --node.',
    }),
    ttl: Flags.string({default: '', summary: 'Remote only: time the remote start may take, e.g. 30s, 1h20m30s.'}),
    signwork: Flags.boolean({summary: "Sign the remote submission with the node's work-signing key."}),
  };

  async run(): Promise<SubmitJson> {
    const {args, flags} = await this.parse(WorkSubmit);
    const json = this.jsonEnabled();
    const given = [flags.payload !== undefined, flags['payload-literal'] !== undefined, flags['no-payload']].filter(Boolean).length;
    if (given < 1) throw new ReceptorError('E_USAGE', 'Must provide one of --payload, --no-payload or --payload-literal.');
    if (given > 1) throw new ReceptorError('E_USAGE', 'Cannot provide more than one of --payload, --no-payload and --payload-literal.');
    if (flags.rm && !flags.follow && !json) process.stderr.write('Warning: using --rm without --follow. Unit results will never be seen.\n');

    let payload: Readable | Buffer | null;
    if (flags['payload-literal'] !== undefined) payload = Buffer.from(`${flags['payload-literal']}\n`, 'utf8');
    else if (flags['no-payload']) payload = null;
    else if (flags.payload === '-') payload = process.stdin;
    else {
      const file = flags.payload!;
      try {
        payload = createReadStream('', {fd: openSync(file, 'r')});
      } catch (err) {
        throw new ReceptorError('E_USAGE', `Failed to load payload file: ${file}: ${errnoText(err)}`);
      }
    }

    const open: ClientOpener = () => openControlClient(flags);
    let unitid: string | undefined;
    let out: SubmitJson | undefined;
    let followError: string | undefined;
    let failure: unknown;
    try {
      const params = buildParams(flags.param ?? [], flags.params, args.cmdparams ?? []);
      const reply = await submitWork(
        await open(),
        {node: flags.node, workType: args.worktype, params, tlsclient: flags['tls-client-name'], ttl: flags.ttl, signwork: flags.signwork},
        payload,
      );
      unitid = reply.unitid;
      out = {result: reply.result, unitid: reply.unitid};
      if (flags.follow) {
        const r = await followToOutput(open, reply.unitid, 0, json);
        Object.assign(out, r.json);
        followError = r.error;
      } else if (!json) {
        this.log(`Result: ${reply.result}`);
        this.log(`Unit ID: ${reply.unitid}`);
      }
    } catch (err) {
      failure = err;
      if (err instanceof WorkSubmitError && err.unitid) unitid = err.unitid;
    } finally {
      if (payload && 'destroy' in payload && payload !== process.stdin) payload.destroy();
    }

    let releaseFailed = false;
    if (flags.rm && unitid) {
      const note = (s: string) => (flags.follow ? process.stderr.write(`${s}\n`) : process.stdout.write(`${s}\n`));
      let r: Awaited<ReturnType<typeof opOnUnits>>;
      try {
        r = await opOnUnits(open, 'release', [unitid], {line: json ? undefined : note, fail: json ? undefined : (s) => process.stderr.write(`Error: ${s}\n`)});
      } catch (err) {
        const error = unitFailure(unitid, err);
        r = [{unitid, error}];
        if (!json) process.stderr.write(`Error: ${error.message}\n`);
      }
      const one = r[0];
      if (out && one) {
        if ('result' in one) out.released = one.result;
        else out.releaseError = one.error.message;
      }
      releaseFailed = one !== undefined && 'error' in one;
    }

    if (failure !== undefined) {
      const code = errorCodeOf(failure);
      throw new ReceptorError(code, errorMessage(failure), {exitCode: SUBMIT_FAILED, cause: failure});
    }
    if (followError || releaseFailed) {
      if (json) this.logJson(out);
      else if (followError) process.stderr.write(`ERROR: ${followError}\n`);
      this.exit(1);
    }
    return out!;
  }
}
