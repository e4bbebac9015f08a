// Hooks for testing an application's recovery from faults, apart from the package's API (not
// stable): `import { loseDevice } from "isoformer-web/testing"`.

// index.js keys the model's hook with the same registered symbol.
const LOSE_DEVICE = Symbol.for("isoformer-web.loseDevice");

/**
 * Destroys the model's GPU device at once, as a driver reset would — even while a call runs: that
 * call and later ones reject with DEVICE_LOST. Resolves to `{ running }`, the operation the worker
 * was running when the device went (e.g. "predict"), or null.
 */
export function loseDevice(model) {
  if (typeof model?.[LOSE_DEVICE] !== "function") throw new TypeError("loseDevice(model): an IsoFormer model");
  return model[LOSE_DEVICE]();
}
