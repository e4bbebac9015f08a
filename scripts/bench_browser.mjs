#!/usr/bin/env node
// Runs www/bench.html in headless Chromium (Debian's, through playwright-core) on WebGPU and
// prints its JSON result. The site (www/dist) and a weight directory are served from a temporary
// folder on 127.0.0.1.
//
//   node scripts/bench_browser.mjs --weights /path/to/weights-dir [--residues 1024] [--runs 3] [--load-only 1] [--fusion 0]
// (an IsoFormer weight directory benchmarks whole predictions; --load-only reports the wasm memory a load takes)
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, symlinkSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { flags } from "./bench_inputs.mjs";

const args = flags();
const site = resolve(args.site ?? "www/dist");
const weights = resolve(args.weights ?? "weights/isoformer-tiny-random/protein");
const port = Number(args.port ?? 8765);

const root = mkdtempSync(join(tmpdir(), "isoformer-bench-"));
for (const name of readdirSync(site)) if (name !== "weights") symlinkSync(join(site, name), join(root, name));
mkdirSync(join(root, "weights"));
symlinkSync(weights, join(root, "weights", "bench"));

const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1000));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  const done = new Promise((resolveDone, reject) => {
    const started = Date.now();
    page.on("console", (message) => {
      const text = message.text();
      // Progress goes to stderr so a slow adapter shows where the time goes.
      console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
      if (text.startsWith("BENCH_RESULT ")) resolveDone(JSON.parse(text.slice(13)));
      if (text.startsWith("BENCH_ERROR ")) reject(new Error(text));
    });
  });
  const query = `weights=weights/bench/&residues=${args.residues ?? 1024}&runs=${args.runs ?? 3}${args["load-only"] ? "&loadOnly=1" : ""}${args.fusion === "0" ? "&fusion=0" : ""}`;
  await page.goto(`http://127.0.0.1:${port}/bench.html?${query}`);
  const result = await done;
  result.browser = browser.version();
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.kill();
}
