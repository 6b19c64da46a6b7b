/**
 * The error Go's parsers mirrored here throw; its message is Go's text.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
export class ValueError extends Error {}
