// scicmr web UI: text or photo query → result grid → detail dialog. No dependencies.
"use strict";
const $ = (id) => document.getElementById(id);
const PAGE = 12;
const PHOTO_SIDE = 1024; // photos are shrunk in the browser: less to upload on a phone link
let last = null; // {kind, run(offset)} of the current query, for "More results"
const scores = new Map(); // record id -> score of the hits shown, for the detail view

function params(offset) {
  const p = new URLSearchParams({ k: PAGE, offset });
  for (const id of ["target", "year_min", "year_max", "label", "author"]) {
    const v = $(id).value.trim();
    if (v) p.set(id, v);
  }
  return p;
}

async function call(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = body.error || {};
    throw new Error((e.problem || response.statusText) + (e.fix ? " — " + e.fix : ""));
  }
  return body;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function metaLine(h, score) {
  // Hits carry the page at the top level, record details under source.page.
  const page = h.page ?? (h.source && h.source.page);
  const bits = [];
  if (h.authors && h.authors.length) bits.push(h.authors.slice(0, 3).join(", ") + (h.authors.length > 3 ? " et al." : ""));
  if (h.year) bits.push(h.year);
  if (page) bits.push("p. " + page);
  if (h.labels && h.labels.length) bits.push(h.labels.join(", "));
  if (typeof score === "number") bits.push("score " + score.toFixed(3));
  return bits.join(" · ");
}

function renderHits(data, append) {
  const list = $("results");
  if (!append) list.replaceChildren();
  if (!append) scores.clear();
  for (const h of data.hits) {
    scores.set(h.id, h.score);
    const li = el("li", "hit");
    const button = el("button");
    button.type = "button";
    button.dataset.id = h.id;
    const img = el("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.alt = "figure " + h.id;
    if (h.thumbnail_url) img.src = h.thumbnail_url;
    const body = el("div", "body");
    body.append(el("p", "caption", h.caption || "(no caption)"), el("p", "title", h.title),
                el("p", "meta", metaLine(h)), el("p", "meta score", "score " + h.score.toFixed(3)));
    button.append(img, body);
    button.addEventListener("click", () => openDetail(h.id));
    li.append(button);
    list.append(li);
  }
  const shown = data.offset + data.hits.length;
  $("more").hidden = !(data.hits.length === data.k && shown < data.total);
  const what = data.target === "image" ? "figures" : "captions";
  $("status").textContent = shown === 0
    ? "No results. Try other words or fewer filters."
    : `${shown} of ${data.total} ${what} · ${data.took_ms} ms`;
}

async function run(query, append) {
  $("status").textContent = "Searching…";
  try {
    renderHits(await query(), append);
  } catch (error) {
    $("status").textContent = error.message;
    if (!append) $("results").replaceChildren();
    $("more").hidden = true;
  }
}

function textSearch(offset = 0) {
  const q = $("q").value.trim();
  if (!q) { $("status").textContent = "Type some words first."; return; }
  $("query-preview").hidden = true;
  last = (o) => call("/api/search?" + new URLSearchParams({ q }) + "&" + params(o));
  run(() => last(offset), offset > 0);
}

async function shrink(file) {
  // Re-encode large photos as JPEG on the phone; fall back to the original file.
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 1.5e6) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return await new Promise((ok) => canvas.toBlob((b) => ok(b || file), "image/jpeg", 0.88));
  } catch (_) {
    return file;
  }
}

async function photoSearch(file) {
  const blob = await shrink(file);
  const preview = $("query-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.hidden = false;
  last = (o) => {
    const form = new FormData();
    form.append("image", blob, file.name || "photo.jpg");
    return call("/api/search/image?" + params(o), { method: "POST", body: form });
  };
  run(() => last(0), false);
}

async function openDetail(id) {
  const dialog = $("detail");
  try {
    const r = await call("/api/records/" + encodeURIComponent(id));
    $("detail-title").textContent = r.title || "Untitled record";
    $("detail-meta").textContent = metaLine(r, scores.get(r.id));
    $("detail-caption").textContent = r.text;
    $("detail-keywords").textContent = r.keywords.length ? "Keywords: " + r.keywords.join(", ") : "";
    $("detail-keywords").hidden = !r.keywords.length;
    $("detail-abstract").textContent = r.abstract || "";
    $("detail-abstract-box").hidden = !r.abstract;
    $("detail-doi").textContent = r.doi ? "DOI " + r.doi : "";
    $("detail-doi").href = r.doi_url || "#";
    $("detail-doi").hidden = !r.doi;
    $("detail-url").href = r.url || "#";
    $("detail-url").hidden = !r.url;
    $("detail-context").textContent = r.context || "";
    $("detail-image").src = r.image_url || "";
    $("detail-image").hidden = !r.image_url;
    $("detail-open").href = r.image_url || "#";
    $("detail-open").hidden = !r.image_url;
    $("detail-page-box").hidden = !r.page_url;
    $("detail-page").src = r.page_url || "";
    $("similar").hidden = !r.image_url;
    $("similar").onclick = () => similar(r);
    if (!dialog.open) dialog.showModal();
  } catch (error) {
    $("status").textContent = error.message;
  }
}

async function similar(record) {
  $("detail").close();
  const response = await fetch(record.image_url);
  $("target").value = "image";
  await photoSearch(new File([await response.blob()], record.id + ".img"));
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); textSearch(0); });
  $("photo").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) photoSearch(f); e.target.value = ""; });
  $("more").addEventListener("click", () => {
    if (!last) return;
    const offset = $("results").children.length;
    run(() => last(offset), true);
  });
  $("detail").addEventListener("click", (e) => { if (e.target === $("detail")) $("detail").close(); });
  const q = new URLSearchParams(location.search).get("q");
  if (q) { $("q").value = q; textSearch(0); }
});
