// scicmr web UI: text or photo query → result grid → detail dialog. No dependencies.
"use strict";
const $ = (id) => document.getElementById(id);
const PAGE = 12;
const FILTERS = ["target", "year_min", "year_max", "label", "author"];
const START = "Type a query or take a photo of a figure.";
let shownKey = null; // searchKey() of the results shown
let photo = null; // {blob, name} of the last photo search (a photo cannot be put in the URL)
const PHOTO_SIDE = 1024; // photos are shrunk in the browser: less to upload on a phone link
let last = null; // offset -> page of the current query (its filters fixed when it started), for "More results"
let runs = 0; // counts result-list requests: a response older than the newest is dropped
let facetsShown = null; // the filters the facet chips were counted under
const scores = new Map(); // record id -> score of the hits shown, for the detail view

function filterParams() {
  const p = new URLSearchParams();
  for (const id of FILTERS) {
    const v = $(id).value.trim();
    if (v) p.set(id, v);
  }
  return p;
}

function paged(filters, offset) {
  const p = new URLSearchParams(filters);
  p.set("k", PAGE);
  p.set("offset", offset);
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
    const li = el("li", h.score < 0 ? "hit weak" : "hit");
    li.dataset.score = String(h.score);  // the exact score the weak flag used (the text is rounded)
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
    button.addEventListener("click", () => showRecord(h.id));
    li.append(button);
    list.append(li);
  }
  const shown = data.offset + data.hits.length;
  $("more").hidden = !(data.hits.length === data.k && shown < data.total);
  const what = data.target === "image" ? "figures" : "captions";
  $("status").textContent = shown === 0
    ? "No results. Try other words or fewer filters."
    : `${shown} of ${data.total} ${what} · ${data.took_ms} ms`;
  // Scores below 0 mean the query and the figure point away from each other in the shared
  // space: say where the list turns weak instead of implying all N are matches.
  const weak = [...scores.values()].findIndex((s) => s < 0);
  if (weak >= 0) {
    $("status").append(el("span", "weak-note", weak === 0
      ? " · all weak matches (negative scores): try other words"
      : ` · weak matches (negative scores) from #${weak + 1} on, shown dimmed`));
  }
}

async function run(query, append) {
  const mine = append ? runs : ++runs; // a new search makes older pages (and pages of older searches) stale
  $("status").textContent = "Searching…";
  try {
    const data = await query();
    if (mine === runs) renderHits(data, append);
  } catch (error) {
    if (mine !== runs) return;
    $("status").textContent = error.message;
    if (!append) { $("results").replaceChildren(); $("query-preview").hidden = true; }
    $("more").hidden = true;
  }
}

// -- URL state: q, filters, pages loaded and the open record live in the address (history API),
// so results can be shared and bookmarked and Back steps through searches and detail views.
function searchUrl(q) {
  // A new search: the query and the filters as the form holds them now.
  const p = filterParams();
  if (q) p.set("q", q);
  return location.pathname + (p.toString() ? "?" + p : "");
}

function urlWith(pages, record) {
  // The search shown (query and filters from the address, not from a form being edited), with
  // the pages loaded and the open record.
  const p = here();
  p.delete("pages");
  p.delete("record");
  if (pages > 1) p.set("pages", pages);
  if (record) p.set("record", record);
  return location.pathname + (p.toString() ? "?" + p : "");
}

function here() { return new URLSearchParams(location.search); }

function go(url, state = null) {
  if (url !== location.pathname + location.search) history.pushState(state, "", url);
}

function searchKey(p) {
  // What picks the result list: the query and the filters (not the pages shown or the open record).
  const key = new URLSearchParams();
  for (const k of ["q", ...FILTERS]) if (p.get(k)) key.set(k, p.get(k));
  return key.toString() + (history.state && history.state.photo ? "#photo" : "");
}

function pagesShown() { return Math.ceil($("results").children.length / PAGE); }

function textSearch() {
  const q = $("q").value.trim();
  if (!q) { $("status").textContent = "Type some words first."; return; }
  shownKey = null; // searching again re-runs the query (after an error, say)
  go(searchUrl(q));
  applyUrl();
}

function startTextSearch(q) {
  $("query-preview").hidden = true;
  const filters = filterParams();
  last = (o) => call("/api/search?" + new URLSearchParams({ q }) + "&" + paged(filters, o));
  return run(() => last(0), false);
}

function reset() {
  last = null;
  shownKey = null;
  $("results").replaceChildren();
  $("more").hidden = true;
  $("query-preview").hidden = true;
  $("status").textContent = START;
}

async function applyUrl() {
  const p = here();
  $("q").value = p.get("q") || "";
  for (const id of FILTERS) $(id).value = p.get(id) || "";
  if (FILTERS.some((id) => p.get(id))) $("options").open = true;
  const key = searchKey(p);
  if (key !== shownKey) {
    shownKey = key;
    if (p.get("q")) await startTextSearch(p.get("q"));
    else if (history.state && history.state.photo && photo) {
      last = photoRunner(filterParams()); // Forward to the last photo search: its photo is still in memory
      $("query-preview").hidden = !$("query-preview").src;
      await run(() => last(0), false);
    } else reset();
  }
  loadFacets();
  const want = Math.min(Math.max(parseInt(p.get("pages"), 10) || 1, 1), 20);
  while (last && pagesShown() < want && !$("more").hidden) await loadMore(false);
  const record = p.get("record");
  if (record) await openDetail(record);
  else if ($("detail").open) $("detail").close();
}

async function loadMore(remember = true) {
  if (!last) return;
  const offset = $("results").children.length;
  await run(() => last(offset), true);
  if (remember) history.replaceState(history.state, "", urlWith(pagesShown(), null));
}

async function decode(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (_) {
    return createImageBitmap(file); // older engines reject the options
  }
}

async function shrink(file) {
  // Re-encode large photos as JPEG on the phone. null: the browser cannot decode the file
  // (not a picture), so it is not sent and no broken preview is shown.
  let bitmap;
  try {
    bitmap = await decode(file);
  } catch (_) {
    return null;
  }
  try {
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
  $("q").value = "";
  const preview = $("query-preview");
  preview.hidden = true;
  const blob = await shrink(file);
  if (!blob) {
    last = null;
    $("results").replaceChildren();
    $("more").hidden = true;
    $("status").textContent = "That file is not a picture this page can read. Take a photo, or choose a JPEG, PNG or WebP image.";
    return;
  }
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.hidden = false;
  go(searchUrl(null), { photo: true });
  history.replaceState({ photo: true }, "", location.pathname + location.search);
  shownKey = searchKey(here());
  photo = { blob, name: file.name || "photo.jpg" };
  last = photoRunner(filterParams());
  run(() => last(0), false);
}

function photoRunner(filters) {
  const query = (o) => {
    const form = new FormData();
    form.append("image", photo.blob, photo.name);
    return call("/api/search/image?" + paged(filters, o), { method: "POST", body: form });
  };
  query.photo = true;
  return query;
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
  // Leave the record's history entry without stepping Back (the photo search pushes its own).
  history.replaceState(null, "", urlWith(pagesShown(), null));
  $("detail").close();
  const response = await fetch(record.image_url);
  $("target").value = "image";
  await photoSearch(new File([await response.blob()], record.id + ".img"));
}

// -- facets: counts of fields, years and authors under the current filters; a click filters.
const FACETS = [["labels", "Field", "label"], ["years", "Year", "year"], ["authors", "Author", "author"]];

function pressed(kind, value) {
  if (kind === "year") return $("year_min").value === value && $("year_max").value === value;
  return $(kind).value.trim().toLowerCase() === value;
}

function toggleFacet(kind, value) {
  const on = !pressed(kind, value);
  if (kind === "year") { $("year_min").value = on ? value : ""; $("year_max").value = on ? value : ""; }
  else $(kind).value = on ? value : "";
  if ($("q").value.trim()) { textSearch(); return; }
  go(searchUrl(null), history.state);
  shownKey = searchKey(here());
  if (last && last.photo) {
    last = photoRunner(filterParams());
    run(() => last(0), false);
  }
  loadFacets();
}

async function loadFacets() {
  const nav = $("facets");
  const filters = filterParams().toString();
  if (filters === facetsShown) return; // opening or closing a record changes no count
  facetsShown = filters;
  let data;
  try {
    data = await call("/api/facets?" + filters);
  } catch (_) {
    nav.hidden = true; // facets are a help, not the page: a failure hides them
    facetsShown = null;
    return;
  }
  if (filters !== facetsShown) return; // filters changed while counting: the newer call draws
  nav.replaceChildren();
  for (const [key, title, kind] of FACETS) {
    if (!data[key].length) continue;
    const row = el("div");
    row.append(el("b", null, title));
    for (const { value, count } of data[key]) {
      const chip = el("button", null, `${value} ${count}`);
      chip.type = "button";
      chip.dataset.facet = kind;
      chip.dataset.value = value;
      chip.setAttribute("aria-pressed", String(pressed(kind, value)));
      chip.addEventListener("click", () => toggleFacet(kind, value));
      row.append(chip);
    }
    nav.append(row);
  }
  nav.hidden = !nav.children.length;
}

function showRecord(id) {
  go(urlWith(pagesShown(), id), { detail: true });
  openDetail(id);
}

function detailClosed() {
  if (!here().get("record")) return; // closed by Back, or already left
  if (history.state && history.state.detail) history.back(); // the entry showRecord pushed
  else history.replaceState(history.state, "", urlWith(pagesShown(), null));
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); textSearch(); });
  $("photo").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) photoSearch(f); e.target.value = ""; });
  $("more").addEventListener("click", () => loadMore(true));
  $("detail").addEventListener("click", (e) => { if (e.target === $("detail")) $("detail").close(); });
  $("detail").addEventListener("close", detailClosed);
  $("query-preview").addEventListener("error", () => { $("query-preview").hidden = true; });
  window.addEventListener("popstate", () => applyUrl());
  applyUrl();
});
