import type { IsoFormer } from "./index.js";

/** Destroys the model's GPU device at once, as a driver reset would, even while a call runs: that call and later ones reject with DEVICE_LOST. Resolves to the operation the worker was running then. Not stable API. */
export declare function loseDevice(model: IsoFormer): Promise<{ running: string | null }>;
