// The demo's embedding map: sequences' mean embeddings projected to 2-D with UMAP (umap-js,
// www/vendor, loaded as window.UMAP) and drawn as an SVG scatter coloured by a label, in the page.

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Every record of FASTA text: [{ id, label, sequence }]; the label is the header's second word up to a ':' (e.g. an Ensembl gene id), if any. */
export function fastaRecords(text) {
  const records = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith(">")) {
      const words = line.slice(1).trim().split(/\s+/);
      records.push({ id: words[0] || `record ${records.length + 1}`, label: (words[1] ?? "").split(":")[0], sequence: "" });
    } else if (records.length) {
      records[records.length - 1].sequence += line.replace(/\s+/g, "");
    }
  }
  return records;
}

/** A seeded generator (mulberry32), so the same embeddings give the same map. */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** UMAP of `vectors` (arrays of equal length, at least 4) to [[x, y]]. */
export function project(vectors) {
  if (!globalThis.UMAP) throw new Error("the UMAP library (vendor/umap-js.min.js) is not loaded");
  if (vectors.length < 4) throw new Error("a map needs at least 4 sequences");
  const umap = new globalThis.UMAP.UMAP({ nComponents: 2, nNeighbors: Math.min(15, vectors.length - 1), minDist: 0.1, random: seeded(42) });
  return umap.fit(vectors.map((v) => Array.from(v)));
}

/** Draws `points` into `svg` (scaled to fit, one circle per point with its id as a tooltip), coloured by `labels` (a legend when there are 2 to 10). */
export function drawMap(svg, points, ids, labels) {
  const ns = "http://www.w3.org/2000/svg";
  const groups = [...new Set(labels)];
  const legend = groups.length > 1 && groups.length <= PALETTE.length;
  const [width, height, pad] = [480, 360, 16];
  svg.setAttribute("viewBox", `0 0 ${width} ${height + (legend ? 20 * Math.ceil(groups.length / 3) : 0)}`);
  svg.replaceChildren();
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const scale = (v, lo, hi, size) => pad + ((v - lo) / (hi - lo || 1)) * (size - 2 * pad);
  const [xLo, xHi, yLo, yHi] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  points.forEach(([x, y], i) => {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", scale(x, xLo, xHi, width).toFixed(1));
    dot.setAttribute("cy", (height - scale(y, yLo, yHi, height)).toFixed(1));
    dot.setAttribute("r", "6");
    dot.setAttribute("fill", PALETTE[groups.indexOf(labels[i]) % PALETTE.length]);
    dot.setAttribute("class", "point");
    dot.dataset.id = ids[i];
    const title = document.createElementNS(ns, "title");
    title.textContent = labels[i] ? `${ids[i]} (${labels[i]})` : ids[i];
    dot.append(title);
    svg.append(dot);
  });
  if (!legend) return;
  groups.forEach((group, i) => {
    const [x, y] = [pad + (i % 3) * 155, height + 14 + 20 * Math.floor(i / 3)];
    const key = document.createElementNS(ns, "circle");
    Object.entries({ cx: x, cy: y - 5, r: 6, fill: PALETTE[i] }).forEach(([k, v]) => key.setAttribute(k, String(v)));
    const text = document.createElementNS(ns, "text");
    Object.entries({ x: x + 10, y, class: "legend" }).forEach(([k, v]) => text.setAttribute(k, String(v)));
    text.textContent = group || "(no label)";
    svg.append(key, text);
  });
}
