// The report's trajectory browser and trajectory view. Everything is built with DOM calls and
// textContent: no data ever becomes markup, and the page's Content-Security-Policy (Trusted
// Types, no network) would stop it if it tried.
"use strict";

// ---- Small helpers ----------------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function add(parent, ...children) {
  for (const c of children) if (c) parent.append(c);
  return parent;
}

function bytesOf(b64) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// A gzip-compressed, base64-encoded JSON block embedded in the page.
async function inflate(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error("missing data block " + id);
  const stream = new Blob([bytesOf(node.textContent.trim())]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

const fmtInt = new Intl.NumberFormat("en-US");
function pct(x) { return (100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0) + "%"; }

// ---- Sortable static tables (the overview's breakdowns) ---------------------------------

function sortableTables() {
  for (const table of document.querySelectorAll("table.sortable")) {
    const heads = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
    heads.forEach((th, col) => th.addEventListener("click", () => {
      const dir = th.dataset.dir === "desc" ? "asc" : "desc";
      heads.forEach(h => delete h.dataset.dir);
      th.dataset.dir = dir;
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      const key = r => {
        const c = r.cells[col];
        const v = c ? (c.dataset.v !== undefined ? c.dataset.v : c.textContent) : "";
        const n = parseFloat(v);
        return v !== "" && !isNaN(n) && /^-?[\d.]/.test(v) ? n : v.toLowerCase();
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return dir === "asc" ? c : -c;
      });
      body.append(...rows);
    }));
  }
}

// ---- The browser ------------------------------------------------------------------------

const ROW_H = 28;
const STATUS = ["accepted", "rejected", "unverified"];
const S = { data: null, order: null, shown: null, sortCol: null, sortDir: 1, chunks: new Map(), keyIndex: null };

const COLUMNS = [
  { id: "key", label: "key", text: i => S.data.cols.key[i] },
  { id: "family", label: "family", dim: "family" },
  { id: "template", label: "template", dim: "template" },
  { id: "teacher", label: "teacher", dim: "teacher" },
  { id: "status", label: "verdict", text: i => STATUS[S.data.cols.status[i]] },
  { id: "reasons", label: "reasons", text: i => reasonText(S.data.cols.reasons[i]) },
  { id: "replay", label: "replay", text: i => nameOr(S.data.replay, S.data.cols.replay[i]) },
  { id: "score", label: "score", num: true, text: i => scoreText(S.data.cols.score[i]) },
  { id: "turns", label: "turns", num: true, text: i => S.data.cols.turns[i] },
  { id: "tokens", label: "tokens", num: true, text: i => fmtInt.format(S.data.cols.tokens[i]) },
];

function nameOr(names, i) { return i >= 0 ? names[i] : "–"; }
function scoreText(s) { return s >= 0 ? (s / 1000).toFixed(2) : "–"; }
function reasonText(mask) {
  const out = [];
  S.data.reasons.forEach((r, i) => { if (mask & (1 << i)) out.push(r); });
  return out.join(", ");
}
function dimValue(dim, i) { return S.data.dims[dim][S.data.cols[dim][i]]; }

function sortValue(col, i) {
  const c = S.data.cols;
  switch (col.id) {
    case "key": return c.key[i];
    case "status": return c.status[i];
    case "reasons": return c.reasons[i];
    case "replay": return c.replay[i];
    case "score": return c.score[i];
    case "turns": return c.turns[i];
    case "tokens": return c.tokens[i];
    default: return dimValue(col.dim, i);
  }
}

// Filters: a select per dimension and per verdict field, plus free text.
const FILTERS = [
  { id: "family", label: "family", dim: "family" },
  { id: "template", label: "template", dim: "template" },
  { id: "teacher", label: "teacher", dim: "teacher" },
  { id: "model", label: "model", dim: "model" },
  { id: "source", label: "source", dim: "source" },
  { id: "table", label: "table", dim: "table" },
  { id: "format", label: "format", dim: "format" },
  { id: "stage", label: "stage", dim: "stage" },
  { id: "difficulty", label: "difficulty", dim: "difficulty" },
  { id: "status", label: "verdict" },
  { id: "reason", label: "reason" },
  { id: "replay", label: "replay" },
  { id: "finish", label: "finish" },
];

function filterOptions(f) {
  const d = S.data, c = d.cols, n = d.n;
  if (f.dim) {
    const counts = new Array(d.dims[f.dim].length).fill(0);
    for (let i = 0; i < n; i++) counts[c[f.dim][i]]++;
    return d.dims[f.dim].map((v, i) => [String(i), v, counts[i]]).sort((a, b) => b[2] - a[2] || a[1].localeCompare(b[1]));
  }
  const count = (arr, size) => { const k = new Array(size).fill(0); for (let i = 0; i < n; i++) if (arr[i] >= 0) k[arr[i]]++; return k; };
  if (f.id === "status") { const k = count(c.status, 3); return STATUS.map((s, i) => [String(i), s, k[i]]); }
  if (f.id === "replay") { const k = count(c.replay, d.replay.length); return d.replay.map((s, i) => [String(i), s, k[i]]); }
  if (f.id === "finish") { const k = count(c.finish, d.finishes.length); return d.finishes.map((s, i) => [String(i), s, k[i]]); }
  if (f.id === "reason") {
    const k = new Array(d.reasons.length).fill(0);
    for (let i = 0; i < n; i++) { const m = c.reasons[i]; if (m) for (let r = 0; r < k.length; r++) if (m & (1 << r)) k[r]++; }
    return d.reasons.map((s, i) => [String(i), s, k[i]]);
  }
  return [];
}

function buildControls(root) {
  const controls = el("div", "controls");
  const search = el("input");
  search.type = "search";
  search.id = "f-text";
  search.placeholder = "key, task or template…";
  search.addEventListener("input", applyFilters);
  controls.append(search);
  for (const f of FILTERS) {
    const opts = filterOptions(f).filter(o => o[2] > 0);
    if (opts.length < 2 && f.id !== "status") continue;
    const sel = el("select");
    sel.id = "f-" + f.id;
    sel.title = f.label;
    sel.append(new Option("all " + f.label + "s", ""));
    for (const [v, label, count] of opts) sel.append(new Option(label + " (" + fmtInt.format(count) + ")", v));
    sel.addEventListener("change", applyFilters);
    controls.append(sel);
  }
  const count = el("span", "count");
  count.id = "count";
  controls.append(count);
  root.append(controls);

  const head = el("div", "gridhead");
  for (const col of COLUMNS) {
    const h = el("span", col.num ? "n" : "", col.label);
    h.dataset.col = col.id;
    h.addEventListener("click", () => sortBy(col, h));
    head.append(h);
  }
  root.append(head);
  const viewport = el("div");
  viewport.id = "viewport";
  const spacer = el("div");
  spacer.id = "spacer";
  viewport.append(spacer);
  viewport.addEventListener("scroll", () => requestAnimationFrame(renderRows));
  root.append(viewport);
}

function selected(id) {
  const s = document.getElementById("f-" + id);
  return s && s.value !== "" ? Number(s.value) : -1;
}

function applyFilters() {
  const d = S.data, c = d.cols;
  const text = (document.getElementById("f-text").value || "").trim().toLowerCase();
  const want = {};
  for (const f of FILTERS) want[f.id] = selected(f.id);
  const templateHit = text ? d.dims.template.map(t => t.toLowerCase().includes(text)) : null;
  const tableHit = text ? d.dims.table.map(t => t.toLowerCase().includes(text)) : null;
  const taskHit = text ? d.tasks.map(t => t.toLowerCase().includes(text)) : null;
  const out = [];
  for (const i of S.order) {
    let ok = true;
    for (const f of FILTERS) {
      const w = want[f.id];
      if (w < 0) continue;
      if (f.dim) ok = c[f.dim][i] === w;
      else if (f.id === "status") ok = c.status[i] === w;
      else if (f.id === "replay") ok = c.replay[i] === w;
      else if (f.id === "finish") ok = c.finish[i] === w;
      else if (f.id === "reason") ok = (c.reasons[i] & (1 << w)) !== 0;
      if (!ok) break;
    }
    if (ok && text) ok = c.key[i].includes(text) || taskHit[c.task[i]] || templateHit[c.template[i]] || tableHit[c.table[i]];
    if (ok) out.push(i);
  }
  S.shown = out;
  document.getElementById("count").textContent = fmtInt.format(out.length) + " of " + fmtInt.format(d.n) + " trajectories";
  document.getElementById("spacer").style.height = out.length * ROW_H + "px";
  document.getElementById("viewport").scrollTop = 0;
  renderRows(true);
}

function sortBy(col, head) {
  S.sortDir = S.sortCol === col.id ? -S.sortDir : 1;
  S.sortCol = col.id;
  for (const h of document.querySelectorAll(".gridhead span")) delete h.dataset.dir;
  head.dataset.dir = S.sortDir > 0 ? "asc" : "desc";
  const keys = S.order.map(i => sortValue(col, i));
  const idx = Array.from(S.order.keys());
  idx.sort((a, b) => {
    const x = keys[a], y = keys[b];
    const r = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return S.sortDir * r || S.order[a] - S.order[b];
  });
  S.order = idx.map(j => S.order[j]);
  applyFilters();
}

let lastFirst = -1;
function renderRows(force) {
  const viewport = document.getElementById("viewport");
  const spacer = document.getElementById("spacer");
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_H) - 10);
  if (!force && first === lastFirst) return;
  lastFirst = first;
  const count = Math.ceil(viewport.clientHeight / ROW_H) + 20;
  const rows = [];
  for (let j = first; j < Math.min(S.shown.length, first + count); j++) {
    const i = S.shown[j];
    const row = el("div", "row");
    row.style.transform = "translateY(" + j * ROW_H + "px)";
    row.dataset.key = S.data.cols.key[i];
    for (const col of COLUMNS) {
      let cell;
      if (col.id === "status") {
        cell = el("span");
        cell.append(el("span", "badge " + STATUS[S.data.cols.status[i]], STATUS[S.data.cols.status[i]]));
      } else {
        const text = col.dim ? dimValue(col.dim, i) : col.text(i);
        cell = el("span", (col.num ? "n" : "") + (col.id === "key" ? " key" : ""), text);
        cell.title = text;
      }
      row.append(cell);
    }
    row.addEventListener("click", () => openKey(S.data.cols.key[i]));
    rows.push(row);
  }
  spacer.replaceChildren(...rows);
}

// ---- Deep links -------------------------------------------------------------------------

function openKey(key) {
  if (location.hash !== "#t=" + key) location.hash = "t=" + key;
  else route();
}

function route() {
  const m = /^#t=([^&]+)/.exec(location.hash);
  if (m) showTrajectory(decodeURIComponent(m[1]));
  else closeViewer(false);
}

function closeViewer(clearHash) {
  document.getElementById("viewer").hidden = true;
  if (clearHash && location.hash.startsWith("#t=")) history.pushState(null, "", location.pathname + location.search + "#browser");
}

async function detailOf(i) {
  const chunk = Math.floor(i / S.data.chunk);
  if (!S.chunks.has(chunk)) S.chunks.set(chunk, inflate("d" + chunk));
  const items = await S.chunks.get(chunk);
  return items[i - chunk * S.data.chunk];
}

async function showTrajectory(key) {
  const viewer = document.getElementById("viewer");
  const panel = viewer.querySelector(".panel");
  viewer.hidden = false;
  if (!S.keyIndex) { S.keyIndex = new Map(); S.data.cols.key.forEach((k, i) => S.keyIndex.set(k, i)); }
  const i = S.keyIndex.get(key);
  const body = el("div");
  panel.replaceChildren(closeButton(), body);
  if (i === undefined) { body.append(el("p", "", "No trajectory with key " + key + " in this report.")); return; }
  body.append(el("p", "loading", "Loading…"));
  const d = await detailOf(i);
  if (d.gone) { body.replaceChildren(el("p", "warn", "Trajectory " + key + " disappeared from trajectories/ while the report was written.")); return; }
  body.replaceChildren(renderTrajectory(i, d));
  panel.scrollTop = 0;
  viewer.dataset.key = key;
}

function closeButton() {
  const b = el("button", "close", "Close ✕");
  b.addEventListener("click", () => closeViewer(true));
  return b;
}

// ---- The trajectory view ----------------------------------------------------------------

function kv(pairs) {
  const dl = el("dl", "kv");
  for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== "") add(dl, el("dt", "", k), v instanceof Node ? add(el("dd"), v) : el("dd", "", v));
  return dl;
}

function renderTrajectory(i, d) {
  const c = S.data.cols;
  const root = el("div");
  const key = c.key[i];
  root.append(el("h2", "", key));
  const status = STATUS[c.status[i]];
  const badge = el("span", "badge " + status, status);
  root.append(kv([
    ["verdict", badge],
    ["reasons", reasonText(c.reasons[i])],
    ["score", scoreText(c.score[i])],
    ["task", S.data.tasks[c.task[i]]],
    ["family", dimValue("family", i)],
    ["template", dimValue("template", i)],
    ["stage · difficulty", dimValue("stage", i) + " · " + dimValue("difficulty", i)],
    ["tables", dimValue("table", i) + " (" + dimValue("format", i) + ", " + dimValue("source", i) + ")"],
    ["teacher · model", dimValue("teacher", i) + " · " + dimValue("model", i) + " · sample " + d.sample],
    ["finish", S.data.finishes[c.finish[i]] + (d.fd ? " — " + d.fd : "")],
    ["answer check", d.passed === null || d.passed === undefined ? "none" : (d.passed ? "passed" : "failed") + (d.check ? " — " + d.check : "")],
    ["tokens · cost", fmtInt.format(c.tokens[i]) + " tokens · $" + (c.cost[i] / 1e6).toFixed(4)],
  ]));
  if (d.task_info) {
    root.append(el("h3", "", "Task"));
    root.append(kv([["instruction", d.task_info.instruction], ["answer type", d.task_info.answer_type]]));
    if (d.task_info.ground_truth) { root.append(el("div", "muted small", "ground truth")); root.append(el("pre", "", d.task_info.ground_truth)); }
  }
  if (d.verdict) root.append(renderVerdict(d.verdict));
  if (d.inspection) root.append(kv([["inspector", d.inspection.inspector + ": " + (d.inspection.accepted ? "accepted" : "rejected")], ["inspector reasons", d.inspection.reasons.join("; ")]]));
  root.append(el("h3", "", "Conversation"));
  if (d.lo) root.append(el("p", "warn", "The messages of this trajectory were left out to keep the page small; read it in trajectories/*.jsonl (key " + key + ")."));
  else if (d.cut) root.append(el("p", "warn", "Long parts of this trajectory are cut to keep the page small (marked where cut); the full text is in trajectories/*.jsonl."));
  const images = new Map();
  for (const o of d.outputs || []) if (o.img >= 0) images.set(o.name, o.img);
  let turn = 0;
  for (const m of d.msgs || []) {
    const box = el("div", "msg " + m.r);
    const role = add(el("div", "role"), el("span", "", m.r));
    if (m.r === "assistant" && d.turns && d.turns[turn]) {
      const t = d.turns[turn++];
      role.append(el("span", "", fmtInt.format(t.in) + " in / " + fmtInt.format(t.out) + " out tokens" + (t.cached ? " (cached)" : "")));
      role.append(el("span", "", (t.ms / 1000).toFixed(1) + " s"));
      if (t.cell) role.append(el("span", "", "cell: " + t.cell + (t.trunc ? " (output truncated)" : "") + ", " + ((t.cell_ms || 0) / 1000).toFixed(2) + " s"));
      if (t.fe) role.append(el("span", "", "format error: " + t.fe));
    }
    box.append(role);
    const whole = m.r === "system" ? add(el("details"), el("summary", "", "system prompt")) : box;
    for (const p of m.p) whole.append(renderPart(p, m.r, images));
    if (whole !== box) box.append(whole);
    root.append(box);
  }
  if ((d.outputs || []).length) {
    root.append(el("h3", "", "Files written under outputs/"));
    const list = el("div", "outputs");
    for (const o of d.outputs) {
      list.append(el("div", "small", o.name + (o.why ? " — " + o.why : "")));
      if (o.img >= 0) list.append(image(o.img, o.name));
    }
    root.append(list);
  }
  return root;
}

function image(id, alt) {
  const node = document.getElementById("i" + id);
  const img = el("img");
  img.alt = alt;
  if (node) img.src = "data:" + node.dataset.mime + ";base64," + node.textContent.trim();
  return img;
}

function renderVerdict(v) {
  const box = el("div");
  box.append(el("h3", "", "Verdict"));
  const judge = v.judge ? ["usefulness", "richness", "soundness", "interpretability", "readability"].map(k => k + " " + v.judge[k]).join(", ") + " (" + v.judge.judge + ")" : "";
  box.append(kv([
    ["replay", v.replay + " — " + v.cells_matched + " of " + v.cells + " cells matched"],
    ["replay detail", v.replay_detail || ""],
    ["answer", v.answer_passed === null ? "not checked" : (v.answer_passed ? "passed" : "failed")],
    ["answer detail", v.answer_detail],
    ["extracted answer", v.extracted_answer],
    ["claims", v.claims ? v.claims + " claims, " + (v.grounded_share === null ? "–" : pct(v.grounded_share)) + " grounded" : ""],
    ["checklist coverage", v.checklist_coverage === null ? "" : pct(v.checklist_coverage)],
    ["judge", judge],
    ["format", v.format_ok ? "ok" : "broken: " + v.format_issues.join("; ")],
    ["style", v.style_issues.join("; ")],
    ["cells", v.code_cells + " code cells, " + v.error_cells + " errors, " + v.recoveries + " recoveries, " + v.repeated_cells + " repeated"],
    ["missing outputs", v.missing_outputs.join(", ")],
    ["duplicate of", v.duplicate_of],
    ["contaminated by", v.contaminated_by],
  ]));
  if (v.ungrounded_claims && v.ungrounded_claims.length) {
    box.append(el("div", "muted small", "claims found in no output"));
    const ul = el("ul", "small");
    for (const c of v.ungrounded_claims) ul.append(el("li", "", c));
    box.append(ul);
  }
  for (const m of v.mismatches || []) box.append(renderMismatch(m));
  return box;
}

// ---- Parts of a message -----------------------------------------------------------------

function renderPart(p, role, images) {
  const tag = (p.t || "").toLowerCase();
  const cls = tag ? tag : (role === "user" ? "prompt" : "text");
  const box = el("div", "part " + cls);
  if (p.t) box.append(el("span", "tag", "<" + p.t + ">"));
  const pieces = [p.x];
  if (p.c) pieces.push(null, p.y || "");
  for (const piece of pieces) {
    if (piece === null) { box.append(el("span", "cutmark", "… " + fmtInt.format(p.c) + " bytes cut …")); continue; }
    if (tag === "code") box.append(highlight(stripFence(piece)));
    else if (tag === "execute") box.append(executeText(piece));
    else if (tag === "answer" || role === "user") box.append(markdown(piece, images));
    else box.append(el("pre", "", piece));
  }
  return box;
}

function stripFence(code) {
  return code.replace(/^\s*```(?:python|py)?[ \t]*\n?/, "").replace(/\n?```\s*$/, "");
}

function executeText(text) {
  const pre = el("pre");
  let inError = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("[Error]")) inError = true;
    pre.append(inError ? el("span", "err", line) : document.createTextNode(line + "\n"));
  }
  return pre;
}

// ---- Python highlighting ----------------------------------------------------------------

const PY_KW = new Set(("False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case").split(" "));
const PY_TOKEN = /(#[^\n]*)|("""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|[rbuf]{0,2}"(?:\\.|[^"\\\n])*"?|[rbuf]{0,2}'(?:\\.|[^'\\\n])*'?)|(\b\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

function highlight(code) {
  const pre = el("pre", "py");
  let last = 0;
  PY_TOKEN.lastIndex = 0;
  let m;
  while ((m = PY_TOKEN.exec(code)) !== null) {
    if (m[0] === "") { PY_TOKEN.lastIndex++; continue; }
    if (m.index > last) pre.append(document.createTextNode(code.slice(last, m.index)));
    let cls = null;
    if (m[1]) cls = "tok-com";
    else if (m[2]) cls = "tok-str";
    else if (m[3]) cls = "tok-num";
    else if (m[4]) cls = PY_KW.has(m[4]) ? "tok-kw" : (code[PY_TOKEN.lastIndex] === "(" ? "tok-fn" : null);
    pre.append(cls ? el("span", cls, m[0]) : document.createTextNode(m[0]));
    last = PY_TOKEN.lastIndex;
  }
  if (last < code.length) pre.append(document.createTextNode(code.slice(last)));
  return pre;
}

// ---- A small, safe markdown renderer ----------------------------------------------------
// Headings, paragraphs, lists, block quotes, fenced code, pipe tables, emphasis, inline code.
// Links show their text and target; images show only files this trajectory wrote.

function markdown(text, images) {
  const root = el("div", "md");
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i++; continue; }
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      root.append(highlight(body.join("\n")));
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) { root.append(inline(el("h" + Math.min(h[1].length + 1, 4)), h[2], images)); i++; continue; }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { root.append(el("hr")); i++; continue; }
    if (/^\s*>/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      root.append(add(el("blockquote"), markdown(body.join("\n"), images)));
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-+/.test(lines[i + 1])) {
      const table = el("table");
      const cells = l => l.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map(s => s.trim());
      const head = add(el("tr"), ...cells(line).map(c => inline(el("th"), c, images)));
      table.append(add(el("thead"), head));
      const body = el("tbody");
      i += 2;
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) body.append(add(el("tr"), ...cells(lines[i++]).map(c => inline(el("td"), c, images))));
      table.append(body);
      root.append(add(el("div", "scrollx"), table));
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = el(ordered ? "ol" : "ul");
      while (i < lines.length && item.test(lines[i])) {
        let body = lines[i++].replace(item, "");
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !item.test(lines[i])) body += " " + lines[i++].trim();
        list.append(inline(el("li"), body, images));
      }
      root.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|\s*```|\s*>|\s*([-*+]|\d+[.)])\s)/.test(lines[i])) para.push(lines[i++]);
    if (para.length === 0) para.push(lines[i++]);
    root.append(inline(el("p"), para.join("\n"), images));
  }
  return root;
}

const INLINE = /(`+)([\s\S]*?)\1|!\[([^\]]*)\]\(([^)\s]*)[^)]*\)|\[([^\]]+)\]\(([^)\s]*)[^)]*\)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][^*]*?)\*|_([^_\s][^_]*?)_/g;

function inline(parent, text, images) {
  let last = 0;
  let m;
  const re = new RegExp(INLINE.source, "g");
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    if (m[1]) parent.append(el("code", "", m[2]));
    else if (m[4] !== undefined) {
      const name = m[4].replace(/^(\.\/)?outputs\//, "");
      if (images && images.has(name)) parent.append(image(images.get(name), m[3]));
      else parent.append(document.createTextNode("[image: " + (m[3] || m[4]) + "]"));
    } else if (m[5] !== undefined) parent.append(document.createTextNode(m[5] + " (" + m[6] + ")"));
    else if (m[7] !== undefined || m[8] !== undefined) inline(parent.appendChild(el("strong")), m[7] !== undefined ? m[7] : m[8], images);
    else inline(parent.appendChild(el("em")), m[9] !== undefined ? m[9] : m[10], images);
    last = re.lastIndex;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
  return parent;
}

// ---- Replay mismatches, side by side ----------------------------------------------------

function renderMismatch(m) {
  const box = el("div");
  box.append(el("h3", "", "Cell " + m.cell + ": recorded " + m.recorded_status + ", replayed " + m.replayed_status));
  const table = el("table", "diff");
  table.append(add(el("tr"), el("th", "", "recorded <Execute>"), el("th", "", "replayed")));
  for (const [a, b, kind] of alignLines(m.recorded.split("\n"), m.replayed.split("\n"))) {
    const left = el("td", kind === "same" ? "" : (a === null ? "" : "del"));
    const right = el("td", kind === "same" ? "" : (b === null ? "" : "ins"));
    if (kind === "change") { markChars(left, right, a, b); }
    else { left.textContent = a === null ? "" : a; right.textContent = b === null ? "" : b; }
    table.append(add(el("tr"), left, right));
  }
  box.append(table);
  return box;
}

// Rows of a side-by-side line diff: [left, right, same|del|ins|change].
function alignLines(a, b) {
  const n = a.length, m = b.length;
  const rows = [];
  if (n * m > 400000) {
    for (let i = 0; i < Math.max(n, m); i++) {
      const x = i < n ? a[i] : null, y = i < m ? b[i] : null;
      rows.push([x, y, x === y ? "same" : (x === null ? "ins" : y === null ? "del" : "change")]);
    }
    return rows;
  }
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    L[i * w + j] = a[i] === b[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
  let i = 0, j = 0;
  const dels = [], inss = [];
  const flush = () => {
    const k = Math.max(dels.length, inss.length);
    for (let t = 0; t < k; t++) {
      const x = t < dels.length ? dels[t] : null, y = t < inss.length ? inss[t] : null;
      rows.push([x, y, x !== null && y !== null ? "change" : (x === null ? "ins" : "del")]);
    }
    dels.length = 0; inss.length = 0;
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { flush(); rows.push([a[i], b[j], "same"]); i++; j++; }
    else if (j < m && (i >= n || L[i * w + j + 1] >= L[(i + 1) * w + j])) inss.push(b[j++]);
    else dels.push(a[i++]);
  }
  flush();
  return rows;
}

// Marks the differing middle of two changed lines.
function markChars(left, right, a, b) {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  left.append(a.slice(0, p), el("mark", "del", a.slice(p, a.length - s)), a.slice(a.length - s));
  right.append(b.slice(0, p), el("mark", "ins", b.slice(p, b.length - s)), b.slice(b.length - s));
}

// ---- Start ------------------------------------------------------------------------------

async function main() {
  sortableTables();
  const root = document.getElementById("browser-app");
  document.addEventListener("keydown", e => { if (e.key === "Escape") closeViewer(true); });
  document.getElementById("viewer").addEventListener("click", e => { if (e.target.id === "viewer") closeViewer(true); });
  window.addEventListener("hashchange", route);
  if (root && document.getElementById("summary")) {
    S.data = await inflate("summary");
    S.order = Array.from({ length: S.data.n }, (_, i) => i);
    root.replaceChildren();
    buildControls(root);
    applyFilters();
  }
  if (S.data) route();
  window.dasynthReadyMs = performance.now();
  document.documentElement.dataset.ready = "1";
}

main().catch(err => {
  const root = document.getElementById("browser-app");
  if (root) root.replaceChildren(el("p", "warn", "The trajectory browser could not start: " + err));
  document.documentElement.dataset.ready = "error";
  console.error(err);
});
