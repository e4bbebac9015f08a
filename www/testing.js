// Hooks for testing an application's recovery from faults, apart from the package's API (not
// stable): `import { loseDevice } from "isoformer-web/testing"`.

// index.js keys the model's hook with the same registered symbol.
const LOSE_DEVICE = Symbol.for("isoformer-web.loseDevice");

/** Destroys the model's GPU device, as a driver reset would: later calls reject with DEVICE_LOST. */
export function loseDevice(model) {
  if (typeof model?.[LOSE_DEVICE] !== "function") throw new TypeError("loseDevice(model): an IsoFormer model");
  return model[LOSE_DEVICE]();
}
