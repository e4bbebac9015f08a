// The demo's isoforms × tissues heatmap: one row per transcript, one cell per tissue, coloured on a
// diverging scale around the table's median; rows sortable by a tissue (click its header) or by id;
// the numbers as TSV, downloaded from a blob made here (nothing leaves the page).

/** The predictions as TSV text: `id`, then one column per tissue. */
export function predictionsTsv(rows) {
  const tissues = rows[0]?.tissues ?? [];
  const lines = [["id", ...tissues].join("\t")];
  for (const row of rows) lines.push([row.id, ...Array.from(row.values, (v) => v.toPrecision(7))].join("\t"));
  return `${lines.join("\n")}\n`;
}

// Blue below the median, red above, white at it; `t` in [-1, 1].
function colour(t) {
  const a = Math.min(1, Math.abs(t));
  const [r, g, b] = t < 0 ? [49, 104, 176] : [196, 58, 49];
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

/**
 * Draws `rows` (`[{ id, tissues, values }]`) into `table`, sorted by `sort` (`"id"` or a tissue
 * index); a header click re-sorts. Cells carry `data-value`; rows `data-id`. Colours diverge
 * around the table's median, or around `centre` when given (0 for changes).
 */
export function drawHeatmap(table, rows, sort = "id", centre = undefined) {
  const tissues = rows[0].tissues;
  const all = rows.flatMap((row) => Array.from(row.values)).sort((a, b) => a - b);
  const median = centre ?? all[Math.floor(all.length / 2)];
  const spread = Math.max(median - all[0], all[all.length - 1] - median) || 1;
  const order = [...rows].sort((a, b) => (sort === "id" ? a.id.localeCompare(b.id) : b.values[sort] - a.values[sort]));

  const head = document.createElement("tr");
  const sortButton = (label, key, title) => {
    const th = document.createElement("th");
    th.scope = "col";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.title = title;
    button.dataset.sort = String(key);
    button.setAttribute("aria-pressed", String(sort === key));
    button.addEventListener("click", () => drawHeatmap(table, rows, key, centre));
    th.append(button);
    return th;
  };
  head.append(sortButton("Transcript", "id", "sort by transcript id"));
  tissues.forEach((tissue, i) => head.append(sortButton(tissue, i, `sort by ${tissue}, highest first`)));
  const body = document.createElement("tbody");
  for (const row of order) {
    const tr = document.createElement("tr");
    tr.dataset.id = row.id;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = row.id;
    tr.append(name);
    Array.from(row.values).forEach((value, i) => {
      const td = document.createElement("td");
      td.dataset.value = String(value);
      td.title = `${row.id} · ${tissues[i]}: ${value.toFixed(4)}`;
      td.style.backgroundColor = colour((value - median) / spread);
      tr.append(td);
    });
    body.append(tr);
  }
  const thead = document.createElement("thead");
  thead.append(head);
  table.replaceChildren(thead, body);
  table.dataset.sort = String(sort);
}

/** Starts a download of `text` as `name` (a blob URL: made and read in the page). */
export function download(text, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/tab-separated-values" }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
