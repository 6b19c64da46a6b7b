/** A small seeded PRNG for tests and benches (the one the chaos layer uses), so a run with loss or random data is repeatable. */
export {mulberry32} from '../../src/core/prng.js';
