/**
 * `cert-init`, `cert-makereq`, `cert-signreq` (config.md §5.15): exclusive actions that create a
 * CA, a certificate request, and a signed certificate. Field names, defaults, required flags and
 * error texts are Go receptor's.
 */
import type {ActionTypeDef, FieldSpec} from '../../core/config/types.js';
import {checkMakeReqKeyOptions} from '../../core/pki/tool-options.js';

/** The implementation (and the crypto behind it) loads only when a certificate item runs. */
const tools = () => import('../../core/pki/tools.js');

export type CertInitValues = {
  commonname: string;
  bits: number;
  notbefore: string;
  notafter: string;
  outcert: string;
  outkey: string;
};

export type CertMakeReqValues = {
  commonname: string;
  bits: number;
  dnsname: string[];
  ipaddress: string[];
  nodeid: string[];
  outreq: string;
  inkey: string;
  outkey: string;
};

export type CertSignReqValues = {
  req: string;
  cacert: string;
  cakey: string;
  notbefore: string;
  notafter: string;
  outcert: string;
  verify: boolean;
};

/** Where `cert-signreq` reads the answer to its prompt (stdin unless replaced, e.g. in tests). */
export interface CertificateIo {
  readLine(): Promise<string | null>;
}

const COMMON_NAME = 'Common name to assign to the certificate';
const BITS = 'Bit length of the encryption keys of the certificate';
const NOT_BEFORE = 'Effective (NotBefore) date/time, in RFC3339 format';
const NOT_AFTER = 'Expiration (NotAfter) date/time, in RFC3339 format';

const certInitFields: FieldSpec[] = [
  {name: 'commonname', type: 'string', required: true, description: COMMON_NAME},
  {name: 'bits', type: 'int', required: true, description: BITS},
  {name: 'notbefore', type: 'string', description: NOT_BEFORE},
  {name: 'notafter', type: 'string', description: NOT_AFTER},
  {name: 'outcert', type: 'string', required: true, description: 'File to save the CA certificate to'},
  {name: 'outkey', type: 'string', required: true, description: 'File to save the CA private key to'},
];

const certMakeReqFields: FieldSpec[] = [
  {name: 'commonname', type: 'string', required: true, description: COMMON_NAME},
  {name: 'bits', type: 'int', description: BITS},
  {name: 'dnsname', type: 'string-list', description: 'DNS names to add to the certificate'},
  {name: 'ipaddress', type: 'string-list', description: 'IP addresses to add to the certificate'},
  {name: 'nodeid', type: 'string-list', description: 'Receptor node IDs to add to the certificate'},
  {name: 'outreq', type: 'string', required: true, description: 'File to save the certificate request to'},
  {name: 'inkey', type: 'string', description: 'Private key to use for the request'},
  {name: 'outkey', type: 'string', description: 'File to save the private key to (new key will be generated)'},
];

const certSignReqFields: FieldSpec[] = [
  {name: 'req', type: 'string', required: true, description: 'Certificate Request PEM filename'},
  {name: 'cacert', type: 'string', required: true, description: 'CA certificate PEM filename'},
  {name: 'cakey', type: 'string', required: true, description: 'CA private key PEM filename'},
  {name: 'notbefore', type: 'string', description: NOT_BEFORE},
  {name: 'notafter', type: 'string', description: NOT_AFTER},
  {name: 'outcert', type: 'string', required: true, description: 'File to save the signed certificate to'},
  {name: 'verify', type: 'bool', default: false, description: 'If true, do not prompt the user for verification'},
];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function makeReqKeyOptions(v: CertMakeReqValues) {
  return {bits: num(v.bits), inKey: str(v.inkey), outKey: str(v.outkey)};
}

/** The three action types; `io` replaces stdin for the `cert-signreq` prompt. */
export function makeCertificateTypes(io: Partial<CertificateIo> = {}): ActionTypeDef[] {
  const readLine = io.readLine ?? (async () => (await tools()).readLineFrom(process.stdin));

  const certInitType: ActionTypeDef<CertInitValues> = {
    key: 'cert-init',
    description: 'Initialize PKI CA',
    exclusive: true,
    fields: certInitFields,
    create(v) {
      return {
        async run() {
          await (
            await tools()
          ).certInit({
            commonName: str(v.commonname),
            bits: num(v.bits),
            notBefore: str(v.notbefore),
            notAfter: str(v.notafter),
            outCert: str(v.outcert),
            outKey: str(v.outkey),
          });
        },
      };
    },
  };

  const certMakeReqType: ActionTypeDef<CertMakeReqValues> = {
    key: 'cert-makereq',
    description: 'Create certificate request',
    exclusive: true,
    fields: certMakeReqFields,
    validate(v) {
      checkMakeReqKeyOptions(makeReqKeyOptions(v));
    },
    create(v) {
      return {
        prepare() {
          checkMakeReqKeyOptions(makeReqKeyOptions(v));
        },
        async run() {
          await (
            await tools()
          ).certMakeReq({
            ...makeReqKeyOptions(v),
            commonName: str(v.commonname),
            dnsNames: list(v.dnsname),
            ipAddresses: list(v.ipaddress),
            nodeIds: list(v.nodeid),
            outReq: str(v.outreq),
          });
        },
      };
    },
  };

  const certSignReqType: ActionTypeDef<CertSignReqValues> = {
    key: 'cert-signreq',
    description: 'Sign request and produce certificate',
    exclusive: true,
    fields: certSignReqFields,
    create(v) {
      return {
        async run(rt) {
          await (
            await tools()
          ).certSignReq(
            {
              req: str(v.req),
              caCert: str(v.cacert),
              caKey: str(v.cakey),
              notBefore: str(v.notbefore),
              notAfter: str(v.notafter),
              outCert: str(v.outcert),
              verify: v.verify === true,
            },
            {write: (text) => rt.print(text), readLine},
          );
        },
      };
    },
  };

  return [certInitType, certMakeReqType, certSignReqType] as ActionTypeDef[];
}

/** The built-in certificate action types (for the `receptor:register` hook). */
export const certificateTypes: ActionTypeDef[] = makeCertificateTypes();
