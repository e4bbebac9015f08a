import type { IsoFormer } from "./index.js";

/** Destroys the model's GPU device, as a driver reset would: later calls reject with DEVICE_LOST. Not stable API. */
export declare function loseDevice(model: IsoFormer): Promise<null>;
