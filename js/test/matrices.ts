// Hand-built attention shared by the readout and science tests.

// causal 5x5, row-major: query 0 sees only key 0; the others put most of their mass on key 0
// and the rest on recent keys. alpha = [(1 + .8 + .6 + .5 + .9) / 5, (.2 + .1 + 0 + .05) / 4,
// .55 / 3, .25 / 2, .05 / 1]
export const CAUSAL_5 = [
  [1, 0, 0, 0, 0],
  [0.8, 0.2, 0, 0, 0],
  [0.6, 0.1, 0.3, 0, 0],
  [0.5, 0.0, 0.25, 0.25, 0],
  [0.9, 0.05, 0, 0, 0.05],
].flat();
