// dbt-assets report: draws the data embedded in the page (#data). No library, no network.
// Every text from the project (names, descriptions, messages) goes through textContent.
"use strict";
(function () {
  const source = document.getElementById("data");
  // A large report's data is gzip, in base64: the browser inflates it (DecompressionStream).
  const inflate = async (text) => {
    const bytes = Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  };
  const loaded = source.dataset.encoding === "gzip-base64" ? inflate(source.textContent) : Promise.resolve(JSON.parse(source.textContent));
  loaded.then(main).catch((error) => {
    document.getElementById("note").textContent = `this report could not be read: ${error}`;
    throw error;
  });

function main(data) {
  const assets = data.assets;
  for (const a of assets) {  // the data leaves out empty values
    a.parents = a.parents || []; a.checks = a.checks || {}; a.slas = a.slas || []; a.causes = a.causes || [];
    a.status = a.status || "never run"; a.sla = a.sla || "none";
  }
  const about = (entry) => (entry.node !== undefined ? assets[entry.node] : { id: entry.id, name: entry.name || entry.id, type: entry.type || "" });
  const MAX_DRAWN = 300; // more than this: the neighbourhood of what is searched or clicked
  const NEAR = 60; // how many assets such a neighbourhood shows
  const LISTED = 100; // how many entries a list shows before it says how many more
  const COL = 230, ROW = 46, W = 180, H = 34;
  const SVG = "http://www.w3.org/2000/svg";
  const FILL = {
    success: "#c8e6c9", pass: "#c8e6c9", "no-op": "#dcedc8", error: "#ffcdd2", fail: "#ffcdd2",
    "runtime error": "#ffcdd2", warn: "#fff9c4", skipped: "#ffe0b2", cancelled: "#e0e0e0",
    not_reached: "#eeeeee", running: "#bbdefb", "never run": "#ffffff",
  };
  const STROKE = { ok: "#2e7d32", warn: "#f9a825", at_risk: "#ef6c00", breached: "#c62828", unknown: "#9e9e9e", none: "#b0bec5" };
  const children = assets.map(() => []);
  assets.forEach((a, i) => a.parents.forEach((p) => children[p].push(i)));
  const byId = new Map(assets.map((a, i) => [a.id, i]));
  // dbt-assets diff: what changed (data.changes), keyed by asset index; absent in other reports.
  const changes = data.changes || null;
  const changeOf = (i) => {
    if (!changes) return null;
    if (changes.assets[String(i)]) return "changed";
    return changes.downstream[String(i)] ? "downstream" : null;
  };

  function el(tag, attrs, text) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function link(i) {
    const a = el("a", { class: "asset", "data-node": String(i) }, assets[i].name);
    a.addEventListener("click", () => focus(i));
    return a;
  }

  // --- header and summary ------------------------------------------------------------
  document.getElementById("title").textContent = data.title;
  document.getElementById("meta").textContent =
    `as of ${data.at} · ${assets.length} of ${data.total} assets shown · generated ${data.generated_at}`;
  function counts(target, table) {
    const box = document.getElementById(target);
    for (const key of Object.keys(table).sort()) box.appendChild(el("span", { class: key }, `${key} ${table[key]}`));
  }
  counts("sla-counts", data.summary.sla);
  counts("status-counts", data.summary.status);
  const attention = document.getElementById("attention");
  const flagged = data.summary.attention.concat(data.summary.failed.filter((i) => !data.summary.attention.includes(i)));
  for (const i of flagged.slice(0, LISTED)) {
    const item = el("li", { "data-node": String(i) });
    const mark = assets[i].sla === "none" ? assets[i].status : assets[i].sla;
    item.appendChild(el("span", { class: `badge ${mark}` }, mark));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(link(i));
    attention.appendChild(item);
  }
  if (!attention.children.length) attention.appendChild(el("li", {}, "nothing breached, at risk or failed"));
  if (flagged.length > LISTED) attention.appendChild(el("li", {}, `and ${flagged.length - LISTED} more (search for them)`));

  // --- lineage -------------------------------------------------------------------------
  const svg = document.getElementById("graph");
  const view = { x: 0, y: 0, w: 1000, h: 520 };
  let drawn = [], selected = null, onPath = new Set();

  function neighbourhood(start) {  // breadth first, nearest first, at most NEAR (and the start)
    const seen = new Set(start), queue = start.map((i) => [i, 0]);
    while (queue.length && seen.size < NEAR) {
      const [i, depth] = queue.shift();
      if (depth >= 3) continue;
      for (const j of assets[i].parents.concat(children[i])) {
        if (seen.size >= NEAR) break;
        if (!seen.has(j)) { seen.add(j); queue.push([j, depth + 1]); }
      }
    }
    return [...seen];
  }

  function layout(ids) {
    const inSet = new Set(ids), rank = new Map(), indegree = new Map();
    for (const i of ids) indegree.set(i, assets[i].parents.filter((p) => inSet.has(p)).length);
    const ready = ids.filter((i) => indegree.get(i) === 0), order = [];
    while (ready.length) {
      const i = ready.shift();
      order.push(i);
      rank.set(i, Math.max(0, ...assets[i].parents.filter((p) => inSet.has(p)).map((p) => rank.get(p) + 1)));
      for (const c of children[i]) if (inSet.has(c)) { indegree.set(c, indegree.get(c) - 1); if (indegree.get(c) === 0) ready.push(c); }
    }
    const layers = [];
    for (const i of order) (layers[rank.get(i)] = layers[rank.get(i)] || []).push(i);
    layers.forEach((layer) => layer.sort((a, b) => assets[a].name.localeCompare(assets[b].name)));
    const pos = new Map();
    const place = () => layers.forEach((layer) => layer.forEach((i, k) => pos.set(i, k)));
    place();
    for (let sweep = 0; sweep < 4; sweep++) {  // barycentre ordering, down then up
      const down = sweep % 2 === 0;
      for (const layer of down ? layers : [...layers].reverse()) {
        const key = (i) => {
          const near = (down ? assets[i].parents : children[i]).filter((j) => inSet.has(j));
          return near.length ? near.reduce((s, j) => s + pos.get(j), 0) / near.length : pos.get(i);
        };
        const keys = new Map(layer.map((i) => [i, key(i)]));
        layer.sort((a, b) => keys.get(a) - keys.get(b));
        layer.forEach((i, k) => pos.set(i, k));
      }
    }
    const tallest = Math.max(1, ...layers.map((l) => l.length));
    const xy = new Map();
    layers.forEach((layer, r) => layer.forEach((i, k) => xy.set(i, [r * COL, (k + (tallest - layer.length) / 2) * ROW])));
    return xy;
  }

  function draw(ids) {
    drawn = ids;
    svg.replaceChildren();
    const xy = layout(ids), inSet = new Set(ids);
    const edges = el("svg:g", { class: "edges" }), nodes = el("svg:g", { class: "nodes" });
    for (const i of ids) {
      const [x, y] = xy.get(i);
      for (const p of assets[i].parents) {
        if (!inSet.has(p)) continue;
        const [px, py] = xy.get(p);
        const sx = px + W, sy = py + H / 2, tx = x, ty = y + H / 2, mid = (sx + tx) / 2;
        edges.appendChild(el("svg:path", { class: "edge", "data-from": String(p), "data-to": String(i), d: `M${sx},${sy} C${mid},${sy} ${mid},${ty} ${tx},${ty}` }));
      }
      const a = assets[i];
      const g = el("svg:g", { class: "node", "data-node": String(i), "data-id": a.id, "data-status": a.status, "data-sla": a.sla, transform: `translate(${x},${y})` });
      const change = changeOf(i);
      if (change) {
        g.classList.add(change);
        g.setAttribute("data-change", change);
        g.appendChild(el("svg:rect", { class: "halo", x: -5, y: -5, width: W + 10, height: H + 10 }));
      }
      g.appendChild(el("svg:rect", { width: W, height: H, fill: FILL[a.status] || "#fff", stroke: STROKE[a.sla] || STROKE.none }));
      g.appendChild(el("svg:text", { x: 8, y: 14 }, a.name.length > 27 ? a.name.slice(0, 26) + "…" : a.name));
      const checks = Object.entries(a.checks).map(([k, n]) => `${k} ${n}`).join(" · ");
      g.appendChild(el("svg:text", { x: 8, y: 27, class: "kind" }, a.type + (checks ? ` · ${checks}` : "")));
      const hidden = a.parents.concat(children[i]).filter((j) => !inSet.has(j)).length;
      if (hidden) g.appendChild(el("svg:text", { x: W + 3, y: 14, class: "more" }, `+${hidden}`));
      const kinds = change === "changed" ? `\nchanged: ${changes.assets[String(i)].kinds.join(", ")}` : (change ? "\ndownstream of the change" : "");
      g.appendChild(el("svg:title", {}, `${a.id}\n${a.status} · SLA ${a.sla}${kinds}`));
      g.addEventListener("click", (event) => { event.stopPropagation(); show(i); });
      g.addEventListener("dblclick", () => focus(i));
      nodes.appendChild(g);
    }
    svg.appendChild(edges);
    svg.appendChild(nodes);
    fit(xy);
    mark();
  }

  function fit(xy) {
    const points = [...xy.values()];
    const maxX = Math.max(0, ...points.map((p) => p[0])) + W + 40, maxY = Math.max(0, ...points.map((p) => p[1])) + H + 20;
    Object.assign(view, { x: -20, y: -20, w: Math.max(maxX + 20, 600), h: Math.max(maxY + 20, 300) });
    apply();
  }
  function apply() { svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`); }
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect(), factor = event.deltaY > 0 ? 1.15 : 1 / 1.15;
    const fx = view.x + ((event.clientX - box.left) / box.width) * view.w, fy = view.y + ((event.clientY - box.top) / box.height) * view.h;
    Object.assign(view, { x: fx - (fx - view.x) * factor, y: fy - (fy - view.y) * factor, w: view.w * factor, h: view.h * factor });
    apply();
  }, { passive: false });
  let dragging = null;
  svg.addEventListener("mousedown", (event) => { dragging = [event.clientX, event.clientY]; });
  window.addEventListener("mouseup", () => { dragging = null; });
  svg.addEventListener("mousemove", (event) => {
    if (!dragging) return;
    const box = svg.getBoundingClientRect();
    view.x -= ((event.clientX - dragging[0]) / box.width) * view.w;
    view.y -= ((event.clientY - dragging[1]) / box.height) * view.h;
    dragging = [event.clientX, event.clientY];
    apply();
  });
  document.getElementById("fit").addEventListener("click", () => draw(drawn));
  document.getElementById("all").addEventListener("click", () => start(true));

  function mark() {
    for (const g of svg.querySelectorAll(".node")) {
      const i = Number(g.dataset.node);
      g.classList.toggle("selected", i === selected);
      g.classList.toggle("on-path", onPath.has(i));
    }
    for (const e of svg.querySelectorAll(".edge")) e.classList.toggle("on-path", onPath.has(Number(e.dataset.from)) && onPath.has(Number(e.dataset.to)));
  }

  function focus(i) {  // the asset and its neighbourhood, drawn, and its detail shown
    if (!drawn.includes(i) || assets.length > MAX_DRAWN) draw(neighbourhood([i]));
    show(i);
  }

  // --- search --------------------------------------------------------------------------
  const search = document.getElementById("search"), results = document.getElementById("search-results");
  search.addEventListener("input", () => {
    results.replaceChildren();
    const q = search.value.trim().toLowerCase();
    if (!q) return;
    const found = [];
    for (let i = 0; i < assets.length && found.length < 30; i++) if (assets[i].name.toLowerCase().includes(q) || assets[i].id.toLowerCase().includes(q)) found.push(i);
    for (const i of found) {
      const item = el("li", { "data-node": String(i) }, `${assets[i].name} (${assets[i].type})`);
      item.addEventListener("click", () => { results.replaceChildren(); search.value = assets[i].name; focus(i); });
      results.appendChild(item);
    }
    if (!found.length) results.appendChild(el("li", {}, "no asset matches"));
  });
  search.addEventListener("keydown", (event) => { if (event.key === "Enter" && results.firstChild && results.firstChild.dataset.node) results.firstChild.click(); });

  // --- detail --------------------------------------------------------------------------
  function show(i) {
    selected = i;
    mark();
    const a = assets[i], box = document.getElementById("detail");
    box.replaceChildren(el("h2", {}, a.name));
    const dl = el("dl");
    const row = (k, v) => { if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) return; dl.appendChild(el("dt", {}, k)); dl.appendChild(el("dd", {}, Array.isArray(v) ? v.join(", ") : v)); };
    row("unique_id", a.id); row("type", a.type); row("materialized", a.materialized); row("relation", a.relation);
    row("owners", a.owners || []); row("group", a.group); row("tags", a.tags || []); row("file", a.path); row("last status", a.status);
    if (a.automation) { row("automation", a.automation.reason ? `${a.automation.decision}: ${a.automation.reason}` : null); row("next due", a.automation.next_due); }
    const checks = Object.entries(a.checks).map(([k, n]) => `${k} ${n}`);
    row("checks", checks); row("failing checks", a.failing_checks || []);
    box.appendChild(dl);
    if (a.description) box.appendChild(el("p", { class: "description" }, a.description));
    if (changeOf(i)) changesPanel(box, i);
    box.appendChild(el("h3", {}, "Rebuild"));
    box.appendChild(el("code", { class: "command" }, a.command));
    box.appendChild(el("h3", {}, "SLAs"));
    if (!a.slas.length) box.appendChild(el("p", {}, "no SLA declared"));
    for (const s of a.slas) {
      const p = el("p", { class: "sla", "data-sla": s.sla });
      p.appendChild(el("span", { class: `badge ${s.status}` }, s.status));
      p.appendChild(document.createTextNode(` ${s.sla}: ${s.message}`));
      if (s.observed !== null || s.limit !== null) p.appendChild(el("div", { class: "observed" }, `observed ${s.observed ?? "–"} · limit ${s.limit ?? "–"}`));
      box.appendChild(p);
    }
    box.appendChild(el("h3", {}, "Last results"));
    if (!a.last) box.appendChild(el("p", {}, "no run recorded"));
    else {
      const last = el("dl");
      for (const [k, v] of [["last run", `${a.last.status} (run ${a.last.run_id}) at ${a.last.at}`], ["took", a.last.took], ["last success", a.last.last_success_at || "never"], ["recent successes", `${a.last.successes}${a.last.p90 ? `, p90 ${a.last.p90}` : ""}`], ["failures in a row", a.last.failures_in_a_row]]) {
        last.appendChild(el("dt", {}, k)); last.appendChild(el("dd", {}, v));
      }
      box.appendChild(last);
      if (a.last.message && a.status !== "success") box.appendChild(el("pre", { class: "message" }, a.last.message));
    }
    if (a.causes.length || a.fix) {
      box.appendChild(el("h3", {}, "Why (causes, nearest first)"));
      const list = el("ul", { class: "causes" });
      for (const c of a.causes) {
        const item = el("li", { "data-id": c.id });
        const at = byId.get(c.id);
        item.appendChild(at !== undefined ? link(at) : el("span", {}, c.id));
        item.appendChild(document.createTextNode(`${c.root ? " (root)" : ""}: ${c.reasons.join("; ")}`));
        if (c.fix) item.appendChild(el("div", {}, `fix: ${c.fix}`));
        list.appendChild(item);
      }
      if (a.fix) list.appendChild(el("li", {}, `the asset itself: ${a.fix}`));
      box.appendChild(list);
    }
  }

  // --- changes (dbt-assets diff) -------------------------------------------------------
  function changesPanel(box, i) {
    const panel = el("div", { class: "changes-panel" });
    const entry = changes.assets[String(i)];
    if (!entry) {
      panel.appendChild(el("h3", {}, "Downstream of the change"));
      const deadline = changes.downstream[String(i)].deadline;
      if (deadline) panel.appendChild(el("p", { class: "deadline" }, deadline));
      box.appendChild(panel);
      return;
    }
    panel.appendChild(el("h3", {}, "Changes"));
    const list = el("ul", { class: "kinds" });
    for (const phrase of entry.details) list.appendChild(el("li", {}, phrase));
    panel.appendChild(list);
    for (const text of entry.breaking) panel.appendChild(el("p", { class: "breaking" }, `breaking: ${text}`));
    if (entry.columns.length) {
      const columns = el("ul", { class: "columns" });
      for (const c of entry.columns) {
        const types = c.change === "type_changed" ? ` (${c.before} → ${c.after})` : (c.after || c.before ? ` (${c.after || c.before})` : "");
        columns.appendChild(el("li", { "data-change": c.change }, `${c.name}: ${c.change.replace("_", " ")}${types}`));
      }
      panel.appendChild(el("div", {}, "declared columns:"));
      panel.appendChild(columns);
    }
    if (entry.data) panel.appendChild(el("p", { class: "data", "data-status": entry.data.status }, `data: ${entry.data.summary}`));
    if (entry.deadline) panel.appendChild(el("p", { class: "deadline" }, entry.deadline));
    box.appendChild(panel);
  }

  if (changes) {
    document.getElementById("changes").hidden = false;
    document.getElementById("changes-summary").textContent = `${changes.headline} · against ${changes.state} · predicted cost: ${changes.cost}`;
    const list = document.getElementById("changes-list");
    const changed = Object.keys(changes.assets).map(Number).sort((x, y) => assets[x].name.localeCompare(assets[y].name));
    for (const i of changed) {
      const item = el("li", { "data-node": String(i) });
      item.appendChild(el("span", { class: "badge changed" }, changes.assets[String(i)].kinds.join(", ")));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(link(i));
      if (changes.assets[String(i)].breaking.length) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(el("span", { class: "badge breached" }, "breaking"));
      }
      list.appendChild(item);
    }
    for (const r of changes.removed) {
      const item = el("li", { "data-id": r.id });
      item.appendChild(el("span", { class: "badge removed" }, r.kinds.join(", ")));
      item.appendChild(document.createTextNode(` ${r.name} (${r.type})`));
      list.appendChild(item);
    }
  }

  // --- critical paths ------------------------------------------------------------------
  const critical = document.getElementById("critical-list");
  const worst = { breached: 0, at_risk: 1, warn: 2, unknown: 3, ok: 4 };
  const deadlines = [...data.critical].sort((a, b) => (worst[a.status] ?? 5) - (worst[b.status] ?? 5));
  for (const c of deadlines.slice(0, LISTED)) {
    const item = el("li", { "data-node": String(c.asset) });
    item.appendChild(el("span", { class: `badge ${c.status}` }, c.status));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(el("b", {}, assets[c.asset].name));
    item.appendChild(document.createTextNode(` due ${c.due || "?"}: ${c.basis} ${c.estimate}` + (c.finish ? `, predicted finish ${c.finish}` : "") + ` · chain of ${c.path.length}`));
    item.addEventListener("click", () => {
      onPath = new Set(c.path.concat([c.asset]));
      const missing = [...onPath].some((i) => !drawn.includes(i));
      if (missing || assets.length > MAX_DRAWN) draw(neighbourhood([...onPath])); else mark();
      show(c.asset);
    });
    critical.appendChild(item);
  }
  if (!data.critical.length) critical.appendChild(el("li", {}, "no deadline declared among these assets"));
  if (deadlines.length > LISTED) critical.appendChild(el("li", {}, `and ${deadlines.length - LISTED} more deadlines`));

  // --- run timeline --------------------------------------------------------------------
  function timeline(run) {
    const box = document.getElementById("timeline-body");
    if (!run) { box.appendChild(el("p", {}, "no run recorded")); return; }
    const r = run.run;
    box.appendChild(el("p", { class: "run" }, `run ${r.run_id}: dbt ${r.command}, ${r.status} · started ${r.started} · ${run.bars.length} timed, ${run.marks.length} without times`));
    const threads = [...new Set(run.bars.map((b) => b.thread || ""))].sort();
    const t0 = Math.min(...run.bars.map((b) => b.start)), t1 = Math.max(...run.bars.map((b) => b.end));
    const width = 980, lane = 22, left = 130, span = Math.max(t1 - t0, 0.001);
    const chart = el("svg:svg", { width: String(width), height: String(threads.length * lane + 24), class: "gantt" });
    threads.forEach((t, k) => chart.appendChild(el("svg:text", { x: 2, y: k * lane + 15 }, t || "(thread unknown)")));
    for (const b of run.bars) {
      const k = threads.indexOf(b.thread || ""), who = about(b);
      const x = left + ((b.start - t0) / span) * (width - left - 10), w = Math.max(2, ((b.end - b.start) / span) * (width - left - 10));
      const bar = el("svg:rect", { class: "bar", "data-id": who.id, "data-status": b.status, x: x.toFixed(1), y: String(k * lane + 3), width: w.toFixed(1), height: String(lane - 6), fill: FILL[b.status] === "#ffffff" ? "#cfd8dc" : (FILL[b.status] || "#cfd8dc"), stroke: ["error", "fail", "runtime error"].includes(b.status) ? "#c62828" : "#fff" });
      bar.appendChild(el("svg:title", {}, `${who.name} (${who.type}): ${b.status}, ${(b.end - b.start).toFixed(2)}s${b.message && b.status !== "success" ? "\n" + b.message : ""}`));
      if (b.node !== undefined) bar.addEventListener("click", () => focus(b.node));
      chart.appendChild(bar);
    }
    chart.appendChild(el("svg:text", { x: left, y: threads.length * lane + 18 }, `0s`));
    chart.appendChild(el("svg:text", { x: width - 60, y: threads.length * lane + 18 }, `${span.toFixed(1)}s`));
    if (run.bars.length) box.appendChild(chart);
    if (run.marks.length) {
      box.appendChild(el("h3", {}, "Skipped or never started"));
      const chips = el("div", { class: "chips" });
      for (const m of run.marks) chips.appendChild(el("span", { "data-id": about(m).id, "data-status": m.status }, `${about(m).name}: ${m.status}`));
      box.appendChild(chips);
    }
    box.appendChild(el("h3", {}, "Slowest"));
    const slow = el("ul", { class: "slowest" });
    for (const s of run.slowest) slow.appendChild(el("li", {}, `${s.took}  ${about(run.bars[s.bar]).name}`));
    box.appendChild(slow);
  }
  timeline(data.run);

  // --- first view ----------------------------------------------------------------------
  function start(everything) {
    const note = document.getElementById("note");
    if (assets.length <= MAX_DRAWN) { draw(assets.map((_, i) => i)); note.textContent = ""; return; }
    const first = changes ? Object.keys(changes.assets).map(Number).slice(0, NEAR) : flagged.slice(0, 1);
    if (first.length && !everything) {
      draw(neighbourhood(first));
      show(first[0]);
      note.textContent = `${assets.length} assets: showing the neighbourhood of what needs attention; search or click to move.`;
    } else {
      svg.replaceChildren();
      drawn = [];
      note.textContent = `${assets.length} assets: too many to draw at once; search for one, or pick one from the summary.`;
    }
  }
  start(false);
  window.reportReadyAt = performance.now(); // since the navigation started
  document.body.dataset.ready = "1";
}
})();
