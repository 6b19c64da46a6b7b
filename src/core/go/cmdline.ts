/**
 * Value parsing of github.com/ghjm/cmdline, the config engine Go receptor uses.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
import {ValueError} from './value-error.js';

const TRUE_WORDS = new Set(['1', 't', 'T', 'Y', 'true', 'TRUE', 'True', 'yes', 'Yes', 'YES']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'N', 'false', 'FALSE', 'False', 'no', 'No', 'NO']);

/** cmdline's bool parsing: strconv.ParseBool's words plus yes/no and Y/N, with cmdline's error text. */
export function cmdlineParseBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new ValueError(`could not parse ${s} as boolean`);
}
