/**
 * Field lists typed against the options type of the core module that reads the values.
 *
 * A core module (e.g. `control/service.ts`) owns its options interface; the plugin that
 * declares the config item writes its field list with `fieldsOf<Options>()([...])`, so a
 * misspelt field name or an option without a field fails to compile.
 */
import type {FieldSpec, FieldValues} from './types.js';

/** The declared keys of T, without any index signature. */
export type KnownKeys<T> = keyof {[K in keyof T as string extends K ? never : number extends K ? never : K]: T[K]} & string;

/** A field spec whose name is one of T's keys. */
export type FieldOf<T> = FieldSpec & {readonly name: KnownKeys<T>};

/** The values an item of options type T receives (coercion may add other keys). */
export type ItemValues<T> = T & FieldValues;

type Missing<T, F extends readonly FieldOf<T>[]> = Exclude<KnownKeys<T>, F[number]['name']>;

/**
 * `fieldsOf<Options>()([...fields])`: returns the fields unchanged; the compiler checks that
 * they cover exactly the keys of Options (curried so that Options is explicit and the field
 * names are inferred).
 */
export function fieldsOf<T extends object>() {
  return <const F extends readonly FieldOf<T>[]>(fields: F & ([Missing<T, F>] extends [never] ? unknown : {missingFields: Missing<T, F>})): FieldSpec[] => [...fields];
}
