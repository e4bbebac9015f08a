#!/usr/bin/env node
// Do IsoFormer's three encoders finish sooner in three Web Workers than one after another, on the
// npm package's CPU fallback (Burn's CPU backend in wasm: one thread per wasm instance, since a
// static host sends no COOP/COEP headers and so gets no SharedArrayBuffer)? In one headless
// Chromium: three module workers, each with its own wasm instance and one encoder (Enformer,
// NT-v2, ESM-2), warmed up; then --runs rounds, each timing the three embeddings one after another
// and then all three at once. Prints one JSON line; BENCHMARKS.md records what it printed.
//
//   node scripts/bench_parallel_encoders.mjs --dna W --rna W --protein W --dna-input R --rna-input R --protein-input R [--runs 3] [--site www/dist]
//
// W: an encoder weight directory (scripts/bench_compare.py makes them under target/bench/); R: the
// reference JSON whose input that encoder reads (target/bench/<model>-<size>-<length>.reference.json).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { blankPage, launchChromium, newPage, staticServer } from "../tests/browser/harness.mjs";
import { flags, referenceSequence } from "./bench_inputs.mjs";

const args = flags();
for (const key of ["dna", "rna", "protein", "dna-input", "rna-input", "protein-input"])
  if (!args[key]) throw new Error(`--${key} is required (see the header of ${process.argv[1]})`);
const site = resolve(args.site ?? "www/dist");
const runs = Number(args.runs ?? 3);
const reference = async (path) => JSON.parse(await readFile(resolve(path), "utf8"));

// The same inputs bench_ort_browser.mjs gives each encoder.
const inputs = {
  dna: referenceSequence("enformer", await reference(args["dna-input"])),
  rna: referenceSequence("nt", await reference(args["rna-input"])),
  protein: referenceSequence("esm2", await reference(args["protein-input"])),
};

const mounts = { "/dna/": args.dna, "/rna/": args.rna, "/protein/": args.protein };
const server = await staticServer("/", {
  routes: { "/bench.html": blankPage("parallel encoders") },
  rewrite: (pathname) => {
    for (const [prefix, dir] of Object.entries(mounts)) if (pathname.startsWith(prefix)) return resolve(dir, pathname.slice(prefix.length));
    return resolve(site, pathname.slice(1));
  },
});

const browser = await launchChromium({ webgpu: false });
try {
  const page = await newPage(browser, "parallel");
  page.on("crash", () => console.error("[parallel] the page crashed"));
  page.on("response", (response) => response.status() >= 400 && console.error(`[parallel] ${response.status()} ${response.url()}`));
  await page.goto(`${server.origin}/bench.html`);
  const result = await page.evaluate(async ({ inputs, runs }) => {
    // Each worker: its own wasm instance, one encoder on the CPU backend; answers { modality } with
    // the time its embedding took inside the worker.
    const code = `
      // The handler is set before anything is awaited: a message that arrives earlier is not kept.
      const module = import("${location.origin}/pkg/isoformer.js").then(async (m) => (await m.default(), m));
      let model = null, embed = null;
      onmessage = async ({ data }) => {
        try {
          const { EncoderModel } = await module;
          if (data.load) {
            model = await EncoderModel.load(data.load, { device: "cpu" });
            embed = { dna: (s) => model.embedDna(s), rna: (s) => model.embedRna(s), protein: (s) => model.embedProtein(s) }[data.modality];
            postMessage({ ok: true });
            return;
          }
          const t = performance.now();
          const out = await embed(data.sequence);
          postMessage({ ok: true, ms: performance.now() - t, values: out.data.length });
        } catch (error) {
          postMessage({ ok: false, error: String(error?.message ?? error) });
        }
      };`;
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    const ask = (worker, message) =>
      new Promise((done, fail) => {
        worker.onmessage = ({ data }) => (data.ok ? done(data) : fail(new Error(data.error)));
        worker.onerror = (event) => fail(new Error(`worker ${worker.name}: ${event.message ?? "failed to start"}`));
        worker.postMessage(message);
      });
    const modalities = ["dna", "rna", "protein"];
    const workers = Object.fromEntries(modalities.map((m) => {
      const worker = new Worker(url, { type: "module", name: m });
      worker.name = m;
      return [m, worker];
    }));
    for (const m of modalities) {
      await ask(workers[m], { load: `${location.origin}/${m}/`, modality: m });
      console.log(`loaded ${m}`);
    }
    const warmUp = {};
    for (const m of modalities) warmUp[m] = (await ask(workers[m], { sequence: inputs[m] })).ms;
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const rounds = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const each = {};
      for (const m of modalities) each[m] = (await ask(workers[m], { sequence: inputs[m] })).ms;
      const sequentialMs = performance.now() - t;
      t = performance.now();
      const together = await Promise.all(modalities.map((m) => ask(workers[m], { sequence: inputs[m] })));
      const parallelMs = performance.now() - t;
      rounds.push({ sequentialMs, parallelMs, each, eachInParallel: Object.fromEntries(modalities.map((m, j) => [m, together[j].ms])) });
    }
    Object.values(workers).forEach((w) => w.terminate());
    const sequentialMs = median(rounds.map((r) => r.sequentialMs));
    const parallelMs = median(rounds.map((r) => r.parallelMs));
    return { cores: navigator.hardwareConcurrency, warmUp, rounds, sequentialMs, parallelMs, speedup: sequentialMs / parallelMs };
  }, { inputs, runs });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
