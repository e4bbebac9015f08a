// Hooks for testing an application's recovery from faults, apart from the package's API (not
// stable): `import { loseDevice } from "isoformer-web/testing"`.

// index.js keys the model's hooks with the same registered symbols.
const LOSE_DEVICE = Symbol.for("isoformer-web.loseDevice");
const CRASH_HELPERS = Symbol.for("isoformer-web.crashHelpers");

/**
 * Destroys the model's GPU device at once, as a driver reset would — even while a call runs: that
 * call and later ones reject with DEVICE_LOST. Resolves to `{ running }`, the operation the worker
 * was running when the device went (e.g. "predict"), or null.
 */
export function loseDevice(model) {
  if (typeof model?.[LOSE_DEVICE] !== "function") throw new TypeError("loseDevice(model): an IsoFormer model");
  return model[LOSE_DEVICE]();
}

/**
 * Makes the CPU fallback's helper workers (the RNA and protein encoders beside Enformer, `parallel`)
 * die at their `after + 1`-th embedding from now (default: the next), as workers whose script
 * failed would. The call that meets it goes on in the model's own worker alone — a warning says so —
 * and so do later calls. Resolves to `{ helpers }`, how many helper workers there were (0: the model
 * already runs in one worker).
 */
export function crashHelpers(model, { after = 0 } = {}) {
  if (typeof model?.[CRASH_HELPERS] !== "function") throw new TypeError("crashHelpers(model): an IsoFormer model");
  if (!Number.isInteger(after) || after < 0) throw new TypeError("crashHelpers(model, { after }): a whole number of embeddings");
  return model[CRASH_HELPERS](after);
}
