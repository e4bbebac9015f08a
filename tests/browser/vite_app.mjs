#!/usr/bin/env node
// The npm package through a real bundler (run by `make test-web` after `make wasm`):
//   1. `npm pack` of www/dist holds the package's files and nothing of the demo or its weights, and
//      its wasm module is the size-optimised one (`make dist`: wasm-opt -Oz) within the size budget;
//   2. a small Vite app (tests/vite-app) installs the tarball, imports "isoformer-web" and is built
//      with `vite build` (the worker and the wasm module must come out as assets);
//   3. the built app, served statically, runs a prediction in headless Chromium on WebGPU, equal
//      to the one the package gives in the demo site's own test page.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, newPage, staticServer } from "./harness.mjs";

const VITE = "8.3.8";
// The published module, gzipped (what a page downloads): 5.13 MB (zlib level 9) on 2026-12-02 after
// wasm-opt -Oz (20.7 MB raw; 6.26 MB gzipped without wasm-opt). The goal is 2.5 MB; the
// budget is the measurement plus 5 %, so growth fails here while the gap is worked on.
const WASM_GZIP_BUDGET = 5_350_000;
const site = resolve(process.argv[2] ?? "www/dist");
const root = resolve(import.meta.dirname, "../..");
const work = resolve(root, "target/vite-app");
const app = resolve(work, "app");
const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

// 1. The tarball.
rmSync(work, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
const [packed] = JSON.parse(npm(["pack", site, "--pack-destination", work, "--json"], root));
const files = packed.files.map((f) => f.path).sort();
assert.deepEqual(files, ["README.md", "index.d.ts", "index.js", "package.json", "pkg/isoformer.js", "pkg/isoformer_bg.wasm", "weights-cache.d.ts", "weights-cache.js", "worker.js"]);
const wasm = readFileSync(resolve(site, "pkg/isoformer_bg.wasm"));
const gzipped = gzipSync(wasm, { level: 9 }).length;
// (The development module, 6.26 MB gzipped, is over it too: packing it instead of `make dist`'s fails.)
assert.ok(gzipped <= WASM_GZIP_BUDGET, `the wasm module is ${gzipped} bytes gzipped, over the ${WASM_GZIP_BUDGET}-byte budget (is it \`make dist\`'s?)`);

// 2. The app, installed and built.
cpSync(resolve(root, "tests/vite-app"), app, { recursive: true });
writeFileSync(resolve(app, "package.json"), JSON.stringify({ private: true, type: "module", dependencies: { "isoformer-web": `file:../${packed.filename}`, vite: VITE } }, null, 1));
npm(["install"], app);
cpSync(resolve(root, "weights/isoformer-tiny-random"), resolve(app, "public/weights/isoformer-tiny-random"), { recursive: true });
execFileSync(resolve(app, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], { cwd: app, stdio: "inherit" });
const assets = readdirSync(resolve(app, "dist/assets"));
assert.ok(assets.some((f) => f.endsWith(".wasm")), `the wasm module is emitted: ${assets}`);
assert.ok(assets.some((f) => f.startsWith("worker") && f.endsWith(".js")), `the worker is emitted: ${assets}`);
assert.ok(existsSync(resolve(app, "dist/weights/isoformer-tiny-random/isoformer.json")));

// 3. The built app in the browser.
const server = await staticServer(resolve(app, "dist"));
const browser = await launchChromium();
try {
  const page = await newPage(browser, "vite-app");
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent !== "loading…", null, { timeout: 600_000 });
  assert.equal(await page.locator("#status").textContent(), "done");
  const result = JSON.parse(await page.locator("#result").textContent());
  assert.equal(result.tissues.length, 30);
  assert.ok(result.values.length === 30 && result.values.every(Number.isFinite));
  assert.equal(result.randomWeights, true);
  assert.equal(result.backend, "webgpu");
  assert.deepEqual(result.many.map((r) => r.id), ["a", "b"]);
  assert.deepEqual(result.many[0].values, result.values, "predictMany equals predict (FASTA text read as its record)");
  assert.equal(result.finalProgress, 100);

  // The same call through the unbundled package (the demo site's copy) gives the same numbers.
  const direct = await staticServer(site, { routes: { "/test.html": blankPage("package test") } });
  try {
    await page.goto(`${direct.origin}/test.html`);
    const values = await page.evaluate(async () => {
      const { IsoFormer } = await import("/index.js");
      const model = await IsoFormer.load({ weights: "/weights/isoformer-tiny-random/", modalities: ["protein"] });
      const { values } = await model.predict({ protein: "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS" });
      model.dispose();
      return Array.from(values);
    });
    assert.deepEqual(result.values, values);
  } finally {
    direct.close();
  }
  console.log(`vite_app: ok (vite ${VITE}; ${assets.length} assets; package ${packed.filename}, ${(packed.size / 1e6).toFixed(1)} MB packed; wasm ${(wasm.length / 1e6).toFixed(1)} MB, ${(gzipped / 1e6).toFixed(2)} MB gzipped)`);
} finally {
  await browser.close();
  server.close();
}
