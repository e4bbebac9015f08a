import type { IsoFormer } from "./index.js";

/** Destroys the model's GPU device at once, as a driver reset would, even while a call runs: that call and later ones reject with DEVICE_LOST. Resolves to the operation the worker was running then. Not stable API. */
export declare function loseDevice(model: IsoFormer): Promise<{ running: string | null }>;

/** Makes the CPU fallback's helper workers (`parallel`) die at their `after + 1`-th embedding from now (default: the next), as workers whose script failed: the call that meets it goes on in the model's own worker alone (a warning says so), and so do later calls. Resolves to how many helper workers there were. Not stable API. */
export declare function crashHelpers(model: IsoFormer, options?: { after?: number }): Promise<{ helpers: number }>;
