#!/usr/bin/env node
// How long `IsoFormer.load` takes on the CPU fallback, and where: in one headless Chromium without
// WebGPU, the same IsoFormer weights loaded twice, one model at a time — first from the (local)
// network into an empty weight cache, then from that cache. Prints one JSON line: per round, the
// load's milliseconds and, per progress stage, when the load last entered it (the stages repeat
// shard by shard: manifest → download → verify → upload …, then warm-up → ready).
//
//   node scripts/bench_load.mjs --weights DIR [--parallel true] [--site www/dist]
import { inPage } from "../tests/browser/harness.mjs";
import { cpuFallbackPage, flags } from "./bench_inputs.mjs";

const args = flags();
const { page, close } = await cpuFallbackPage(args, "load");
try {
  const rounds = await inPage(page, async (IsoFormer, { parallel }) => {
    const out = [];
    for (const round of ["network", "cache"]) {
      const started = performance.now();
      const stages = {};
      const onProgress = (event) => (stages[event.stage] = Math.round(performance.now() - started));
      const model = await IsoFormer.load({ weights: "/bench-weights/", device: "cpu", parallel, onProgress });
      out.push({ round, loadMs: Math.round(performance.now() - started), stagesLastEnteredMs: stages, parallel: model.info.parallel });
      await model.dispose();
    }
    return out;
  }, { parallel: args.parallel === "true" });
  console.log(JSON.stringify(rounds));
} finally {
  await close();
}
