#!/usr/bin/env node
// How long `IsoFormer.load` takes on the CPU fallback, and where: in one headless Chromium without
// WebGPU, the same IsoFormer weights loaded twice, one model at a time — first from the (local)
// network into an empty weight cache, then from that cache. Prints one JSON line: per round, the
// load's milliseconds and, per progress stage, when the load last entered it (the stages repeat
// shard by shard: manifest → download → verify → upload …, then warm-up → ready).
//
//   node scripts/bench_load.mjs --weights DIR [--parallel true] [--site www/dist]
import { resolve } from "node:path";
import { blankPage, inPage, launchChromium, newPage, staticServer } from "../tests/browser/harness.mjs";
import { flags } from "./bench_inputs.mjs";

const args = flags();
if (!args.weights) throw new Error(`--weights is required (see the header of ${process.argv[1]})`);
const site = resolve(args.site ?? "www/dist");
const weights = resolve(args.weights);
const server = await staticServer("/", {
  routes: { "/bench.html": blankPage("load") },
  rewrite: (pathname) => (pathname.startsWith("/bench-weights/") ? resolve(weights, pathname.slice("/bench-weights/".length)) : resolve(site, pathname.slice(1))),
});
const browser = await launchChromium({ webgpu: false });
try {
  const page = await newPage(browser, "load");
  await page.goto(`${server.origin}/bench.html`);
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
  await browser.close();
  server.close();
}
