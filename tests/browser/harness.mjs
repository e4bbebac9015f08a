// What the browser tests share: a static file server that records every request, and Debian's
// headless Chromium through playwright-core (no browser download).
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml" };

/**
 * Serves `root` on 127.0.0.1 (a random port). `requests` records `{ method, path, url, body }` of
 * each; `routes` maps a path to a handler `(request, response, url) => boolean` that may answer it
 * (return true) before the files are looked up; `rewrite(pathname)` maps a URL path to a file path;
 * `transform(path, bytes, url)` may change a file; `headers` are added to every file's response
 * (e.g. CORS, to serve as a CDN does); `intercept(request, response, url)` sees every request
 * first and may answer it (return true), e.g. by dropping the connection as a cut network does.
 */
export async function staticServer(root, { routes = {}, rewrite = (pathname) => pathname, transform, headers = {}, intercept } = {}) {
  const base = resolve(root);
  const requests = [];
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const url = new URL(request.url, "http://localhost");
    requests.push({ method: request.method, path: url.pathname, url: request.url, body: Buffer.concat(chunks).toString("latin1") });
    if (intercept?.(request, response, url)) return;
    if (routes[url.pathname]?.(request, response, url)) return;
    let path = normalize(join(base, decodeURIComponent(rewrite(url.pathname))));
    if (!path.startsWith(base)) return response.writeHead(403).end();
    if (url.pathname.endsWith("/")) path = join(path, "index.html");
    try {
      let bytes = await readFile(path);
      if (transform) bytes = transform(path, bytes, url) ?? bytes;
      response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream", ...headers });
      response.end(request.method === "HEAD" ? undefined : bytes);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((ready) => server.listen(0, "127.0.0.1", ready));
  return { origin: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

/** Debian's Chromium, headless; `webgpu: false` leaves WebGPU off (no adapter), as on many machines. */
export function launchChromium({ webgpu = true } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless=new", "--no-sandbox", ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]), "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

/** A page whose console and uncaught errors go to stderr, prefixed. */
export async function newPage(browser, label = "page") {
  const page = await browser.newPage();
  page.on("console", (message) => console.error(`[${label}] ${message.text()}`));
  page.on("pageerror", (error) => console.error(`[${label}] uncaught: ${error.message}`));
  return page;
}

/** A route answering an empty HTML page (a same-origin place to import modules from). */
export const blankPage = (title) => (request, response) => Boolean(response.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${title}</title>`));

/**
 * max |values − reference| ÷ max |reference|: how far apart two outputs are, relative to their
 * scale. Throws unless both are the same non-zero length, every value is a finite number and the
 * reference is not all zeros — so a missing, shortened or NaN output can never pass a bound.
 */
export function maxRelativeDifference(values, reference) {
  const length = (array, what) => {
    if (array === null || array === undefined || typeof array.length !== "number") throw new Error(`maxRelativeDifference: ${what} is not an array (${array})`);
    return array.length;
  };
  const [n, m] = [length(values, "the output"), length(reference, "the reference")];
  if (n !== m || n === 0) throw new Error(`maxRelativeDifference: ${n} values against a reference of ${m}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const [v, r] = [values[i], reference[i]];
    if (!Number.isFinite(v) || !Number.isFinite(r)) throw new Error(`maxRelativeDifference: value ${i} is ${v}, its reference ${r}`);
    scale = Math.max(scale, Math.abs(r));
    worst = Math.max(worst, Math.abs(v - r));
  }
  if (scale === 0) throw new Error("maxRelativeDifference: the reference is all zeros: no scale to compare at");
  return worst / scale;
}

/**
 * Where a test comparing the page with the native CLI works: the site (the script's first
 * argument, www/dist by default), the repository, the release CLI, and target/e2e (created) for
 * the files it writes.
 */
export function testPaths() {
  const root = resolve(import.meta.dirname, "../..");
  const outDir = resolve(root, "target/e2e");
  mkdirSync(outDir, { recursive: true });
  return { site: resolve(process.argv[2] ?? "www/dist"), root, cli: resolve(root, "target/release/isoformer"), outDir };
}

// Runs `body(IsoFormer, args)` in the page (the package's index.js imported there; `body` is sent
// as source, so it may use only its arguments); resolves to its result, or to
// { error: code, message, name } when it throws.
export const inPage = (page, body, args = {}) =>
  page.evaluate(async ({ source, args }) => {
    const { IsoFormer } = await import("/index.js");
    const run = new Function("IsoFormer", "args", `return (${source})(IsoFormer, args);`);
    try {
      return await run(IsoFormer, args);
    } catch (error) {
      return { error: error.code ?? `uncoded ${error.name}: ${error.message}`, message: error.message, name: error.name };
    }
  }, { source: body.toString(), args });
