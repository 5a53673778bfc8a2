// nblabel box editor: anywidget ESM front end (no build step).
// Three stacked canvases: image layer, boxes layer, interaction layer. Drag feedback,
// zoom and pan stay here; Python gets committed edits (mouse-up) and key actions.
// Geometry functions mirror nblabel/widgets/geometry.py (same names in camelCase).
// keyName, keysFor and actionFor come from _keys.js, which Python puts before this file
// (nblabel/widgets/_protocol.py); messages are {type: ...} as documented there.

const CURSORS = { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize",
  n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize", move: "move" };
const MAX_ZOOM = 32;
const MIN_BOX = 1;
const DRAG_THRESHOLD = 3; // css px before a press becomes a drag
const HANDLE_PX = 7; // css px: how close to an edge grabs it
const EDGES = ["w", "n", "e", "s"]; // left, top, right, bottom
const EDGE_NAMES = { w: "left", n: "top", e: "right", s: "bottom" };
const BROWSER_ACTIONS = new Set(["zoom_in", "zoom_out", "zoom_reset", "help", "next_box",
  "next_edge", "extreme_clicks",
  "deselect", "nudge_left", "nudge_right", "nudge_up", "nudge_down"]);

// -- geometry (mirror of geometry.py) ------------------------------------------------------
export function imageToCanvas(x, y, v) { return [x * v.zoom + v.panX, y * v.zoom + v.panY]; }
export function canvasToImage(x, y, v) { return [(x - v.panX) / v.zoom, (y - v.panY) / v.zoom]; }
export function fitView(iw, ih, cw, ch) {
  const zoom = Math.min(cw / iw, ch / ih);
  return { zoom, panX: (cw - iw * zoom) / 2, panY: (ch - ih * zoom) / 2 };
}
export function zoomAbout(v, factor, cx, cy, minZoom) {
  const zoom = Math.min(Math.max(v.zoom * factor, minZoom), MAX_ZOOM);
  const k = zoom / v.zoom;
  return { zoom, panX: cx - (cx - v.panX) * k, panY: cy - (cy - v.panY) * k };
}
export function hitTest(rects, x, y, tol) {
  for (let i = rects.length - 1; i >= 0; i--) {
    const [x0, y0, x1, y1] = rects[i];
    if (!(x0 - tol <= x && x <= x1 + tol && y0 - tol <= y && y <= y1 + tol)) continue;
    let west = Math.abs(x - x0) <= tol, east = Math.abs(x - x1) <= tol;
    let north = Math.abs(y - y0) <= tol, south = Math.abs(y - y1) <= tol;
    if (west && east) { west = Math.abs(x - x0) <= Math.abs(x - x1); east = !west; }
    if (north && south) { north = Math.abs(y - y0) <= Math.abs(y - y1); south = !north; }
    const handle = (north ? "n" : south ? "s" : "") + (west ? "w" : east ? "e" : "");
    if (handle) return [i, handle];
  }
  let best = null;
  rects.forEach(([x0, y0, x1, y1], i) => {
    if (x0 <= x && x <= x1 && y0 <= y && y <= y1) {
      const area = (x1 - x0) * (y1 - y0);
      if (best === null || area < best[0] || (area === best[0] && i > best[1])) best = [area, i];
    }
  });
  return best === null ? null : [best[1], "move"];
}
const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
export function dragBox(box, handle, dx, dy, w, h) {
  let [x0, y0, x1, y1] = box;
  if (handle === "move") {
    dx = clamp(dx, -x0, w - x1); dy = clamp(dy, -y0, h - y1);
    return [x0 + dx, y0 + dy, x1 + dx, y1 + dy];
  }
  if (handle.includes("w")) x0 += dx;
  if (handle.includes("e")) x1 += dx;
  if (handle.includes("n")) y0 += dy;
  if (handle.includes("s")) y1 += dy;
  [x0, x1] = [clamp(x0, 0, w), clamp(x1, 0, w)].sort((a, b) => a - b);
  [y0, y1] = [clamp(y0, 0, h), clamp(y1, 0, h)].sort((a, b) => a - b);
  return [x0, y0, Math.max(x1, x0 + MIN_BOX), Math.max(y1, y0 + MIN_BOX)];
}
// -- helpers -------------------------------------------------------------------------------
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; // never innerHTML: class names may be markup
  return e;
}
const r2 = (v) => Math.round(v * 100) / 100;
const rectOf = (b) => [b.x0, b.y0, b.x1, b.y1];
const afterPaint = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));

function render({ model, el: host }) {
  const root = el("div", "nbl-root");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab: no notebook shortcuts
  root.setAttribute("role", "application");
  root.setAttribute("aria-label", "box labeling canvas; press ? for the keys");
  const legend = el("div", "nbl-legend");
  const stage = el("div", "nbl-stage");
  const imgC = el("canvas", "nbl-layer nbl-image-layer");
  const boxC = el("canvas", "nbl-layer nbl-boxes-layer");
  const uiC = el("canvas", "nbl-layer nbl-ui-layer nbl-canvas");
  const notice = el("div", "nbl-notice");
  const flashEl = el("div", "nbl-flash");
  flashEl.hidden = true;
  flashEl.setAttribute("role", "status");
  const help = el("div", "nbl-help");
  help.hidden = true;
  stage.append(imgC, boxC, uiC, notice, flashEl, help);
  const status = el("div", "nbl-status");
  const hint = el("div", "nbl-hint");
  root.append(legend, stage, status, hint);
  host.append(root);

  let W = 0, H = 0, dpr = 1;
  let view = { zoom: 1, panX: 0, panY: 0 };
  let bitmap = null, bitmapItem = null, decodedImage = null, decodeSeq = 0, decoding = false;
  // (bitmaps are not closed by hand: the cache may still hold them; GC frees them)
  let boxes = [], suggestions = [], selection = model.get("selection") || {};
  let drag = null, spaceDown = false, pointer = null;
  let extreme = null; // extreme-click mode: the points clicked so far (image pixels)

  const IW = () => model.get("image_width") || (bitmap ? bitmap.width : W);
  const IH = () => model.get("image_height") || (bitmap ? bitmap.height : H);
  const minZoom = () => fitView(IW(), IH(), W, H).zoom / 2;
  const classes = () => model.get("classes") || [];
  const colorOf = (label) => {
    const i = classes().indexOf(label);
    const colors = model.get("colors") || [];
    return i >= 0 && colors[i] ? colors[i] : "#ff00ff";
  };
  const keyFor = (action) => keysFor(model.get("keymap"), action);

  function measure(kind, extra) {
    if (!model.get("measure")) return;
    const m = (window.__nblabel_measure = window.__nblabel_measure || { events: [] });
    m.stage = uiC;
    afterPaint(() => m.events.push({ kind, t: performance.now(), ...extra }));
  }

  function objects() {
    const out = boxes.map((b, i) => ({ type: "box", index: i, box: 0, b }));
    suggestions.forEach((s, si) => (s.boxes || []).forEach((b, j) =>
      out.push({ type: "suggestion", index: si, box: j, b, s })));
    return out;
  }
  const same = (o, sel) => sel && o.type === sel.type && o.index === sel.index &&
    (o.type === "box" || (o.box || 0) === (sel.box || 0));

  // -- drawing ----------------------------------------------------------------------------
  function resize() {
    W = model.get("width"); H = model.get("height"); dpr = window.devicePixelRatio || 1;
    stage.style.width = W + "px"; stage.style.height = H + "px";
    root.style.width = W + "px";
    for (const c of [imgC, boxC, uiC]) {
      c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
      c.style.width = W + "px"; c.style.height = H + "px";
    }
  }
  function fit() { view = fitView(IW(), IH(), W, H); }

  function drawImage() {
    const ctx = imgC.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#3a3a3a";
    ctx.fillRect(0, 0, imgC.width, imgC.height);
    if (!bitmap) return;
    ctx.setTransform(dpr * view.zoom, 0, 0, dpr * view.zoom, dpr * view.panX, dpr * view.panY);
    ctx.imageSmoothingEnabled = view.zoom < 3;
    ctx.drawImage(bitmap, 0, 0, IW(), IH());
  }

  function tag(ctx, x, y, text, color, dashed) {
    ctx.font = "12px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 8;
    const ty = y >= 18 ? y - 18 : y + 1;
    x = Math.max(0, Math.min(x, W - w)); // keep the whole tag on the canvas
    ctx.setLineDash([]);
    ctx.fillStyle = dashed ? "rgba(255,255,255,0.92)" : color;
    ctx.fillRect(x, ty, w, 17);
    if (dashed) { ctx.strokeStyle = color; ctx.lineWidth = 1; ctx.strokeRect(x, ty, w, 17); }
    ctx.fillStyle = dashed ? "#222" : "#fff";
    ctx.fillText(text, x + 4, ty + 13);
  }

  function handles(ctx, x0, y0, x1, y1, color) {
    const xm = (x0 + x1) / 2, ym = (y0 + y1) / 2;
    ctx.setLineDash([]);
    ctx.fillStyle = "#fff"; ctx.strokeStyle = color; ctx.lineWidth = 1.5;
    for (const [x, y] of [[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]]) {
      ctx.fillRect(x - 4, y - 4, 8, 8); ctx.strokeRect(x - 4, y - 4, 8, 8);
    }
  }

  function drawBox(ctx, rect, label, color, opts) {
    const [x0, y0] = imageToCanvas(rect[0], rect[1], view);
    const [x1, y1] = imageToCanvas(rect[2], rect[3], view);
    ctx.setLineDash(opts.dashed ? [7, 4] : []);
    if (opts.selected) {
      ctx.fillStyle = color + "33";
      ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    }
    ctx.lineWidth = opts.selected ? 3 : 2;
    ctx.strokeStyle = color;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    if (opts.text) tag(ctx, x0, y0, opts.text, color, opts.dashed);
    if (opts.selected) handles(ctx, x0, y0, x1, y1, color);
  }

  function drawBoxes() {
    const ctx = boxC.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, boxC.width, boxC.height);
    if (decoding) return; // boxes of a new item wait for its image
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (const o of objects()) {
      if (drag && drag.moved && drag.target && same(o, drag.target)) continue; // on the ui layer
      const sug = o.type === "suggestion";
      const score = o.s && o.s.score != null ? " " + o.s.score.toFixed(2) : "";
      const note = o.s && o.s.note ? ` (${o.s.note})` : "";
      const text = sug ? `${o.b.label} · ${o.s.source}${score}${note} · Enter accepts` : o.b.label;
      drawBox(ctx, rectOf(o.b), o.b.label, colorOf(o.b.label),
        { dashed: sug, selected: same(o, selection), text });
      if (same(o, selection) && selection.edge) drawEdge(ctx, rectOf(o.b), selection.edge);
    }
  }

  // the selected edge: a thick bar (arrows move only it, the snap key snaps it)
  function drawEdge(ctx, rect, edge) {
    const [x0, y0] = imageToCanvas(rect[0], rect[1], view);
    const [x1, y1] = imageToCanvas(rect[2], rect[3], view);
    const seg = { w: [x0, y0, x0, y1], e: [x1, y0, x1, y1], n: [x0, y0, x1, y0], s: [x0, y1, x1, y1] }[edge];
    ctx.setLineDash([]);
    for (const [w, c] of [[7, "#fff"], [3, "#e8590c"]]) {
      ctx.lineWidth = w; ctx.strokeStyle = c;
      ctx.beginPath(); ctx.moveTo(seg[0], seg[1]); ctx.lineTo(seg[2], seg[3]); ctx.stroke();
    }
  }

  function drawExtreme(ctx) {
    if (!extreme) return;
    for (const [x, y] of extreme) {
      const [cx, cy] = imageToCanvas(x, y, view);
      ctx.setLineDash([]);
      ctx.fillStyle = colorOf(model.get("active_class")); ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(cx, cy, 5, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }

  function drawUi() {
    const ctx = uiC.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, uiC.width, uiC.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawExtreme(ctx);
    if (!drag || !drag.moved || !drag.rect) return;
    const label = drag.target ? drag.target.b.label : model.get("active_class");
    const dashed = drag.target && drag.target.type === "suggestion";
    const r = drag.rect;
    drawBox(ctx, r, label, colorOf(label), { dashed, selected: true,
      text: `${label}  ${Math.round(r[2] - r[0])}×${Math.round(r[3] - r[1])}` });
    measure("ui", { x: r[2], y: r[3] });
  }

  function drawAll() { drawImage(); drawBoxes(); drawUi(); updateStatus(); }

  // -- legend, status, help ---------------------------------------------------------------
  function updateLegend() {
    legend.replaceChildren();
    const active = model.get("active_class");
    classes().forEach((c, i) => {
      const item = el("span", "nbl-legend-item" + (c === active ? " nbl-active" : ""));
      const sw = el("span", "nbl-swatch");
      sw.style.background = colorOf(c);
      item.append(sw, el("span", "nbl-legend-key", i < 9 ? String(i + 1) : ""), el("span", "", c));
      item.title = i < 9 ? `press ${i + 1} or click: the next boxes you draw get class ${c} ` +
        "(a box you clicked or selected with Tab changes too)" : c;
      if (i < 9) item.addEventListener("click", () => {
        send({ type: "action", action: `class_${i + 1}`, selection });
        root.focus({ preventScroll: true });
      });
      legend.append(item);
    });
    const sug = el("span", "nbl-legend-item nbl-legend-sug", "- - suggestion (dashed)");
    legend.append(sug);
  }

  function updateStatus() {
    const parts = [`zoom ${Math.round(view.zoom * 100)}%`, `${boxes.length} box${boxes.length === 1 ? "" : "es"}`];
    const n = suggestions.length;
    if (n) parts.push(`${n} suggestion${n === 1 ? "" : "s"} (dashed)`);
    if (selection.type === "box" && boxes[selection.index]) {
      parts.push(`selected: box ${selection.index + 1} (${boxes[selection.index].label})`);
    } else if (selection.type === "suggestion" && suggestions[selection.index]) {
      parts.push(`selected: suggestion from ${suggestions[selection.index].source}`);
    }
    if (selection.edge) parts.push(`edge: ${EDGE_NAMES[selection.edge]} (${keyFor("snap_edge")[0] || "?"}: snap)`);
    if (extreme) parts.push(`extreme clicks ${extreme.length}/4: left-, top-, right-, bottom-most points`);
    status.textContent = parts.join(" · ");
    const k = (a) => keyFor(a)[0] || "?";
    const focused = document.activeElement === root;
    hint.replaceChildren(
      el("span", focused ? "nbl-keys-on" : "nbl-keys-off",
        focused ? "⌨ keys active" : "click the image to use the keys"),
      el("span", "", ` · 1-9: class of the next box, then drag: draw it · click a box: select it` +
        ` · drag edges/corners: resize · ${k("accept")}: accept suggestion · ${k("delete")}: delete · ${k("next")}: next · ${k("undo")}: undo · ${k("help")}: all keys`));
    notice.textContent = model.get("notice") || "";
    notice.hidden = !notice.textContent;
  }

  function buildHelp() {
    help.replaceChildren(el("div", "nbl-help-title", "Keys (press ? or Esc to close)"));
    const table = el("table");
    for (const [, desc, keys] of model.get("help") || []) {
      const tr = el("tr");
      const kd = el("td", "nbl-help-keys");
      (keys || []).forEach((key) => kd.append(el("kbd", "", key)));
      tr.append(kd, el("td", "", desc));
      table.append(tr);
    }
    help.append(table, el("div", "nbl-help-mouse",
      "Mouse: pick a class (key or legend), then drag on the image to draw a box of that class · " +
      "a new box is not selected: the next class only applies to the next box · " +
      "click a box to select it (a class key then changes it) · drag it to move · " +
      "drag an edge or corner to resize · double-click a suggestion to accept it · " +
      "pan: Space/Alt/Ctrl + drag or middle button · zoom: wheel (when focused) or Ctrl+wheel"));
  }

  // -- state from Python ------------------------------------------------------------------
  let syncQueued = false;
  function queueSync() {
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(() => { syncQueued = false; sync(); });
  }

  function sync() {
    boxes = (model.get("boxes") || []).map((b) => ({ ...b }));
    suggestions = (model.get("suggestions") || []).map((s) => ({ ...s, boxes: (s.boxes || []).map((b) => ({ ...b })) }));
    // the selection is the browser's (kernel choices arrive as "select" messages); drop
    // it when its box is gone
    if ((selection.type === "box" && !boxes[selection.index]) ||
        (selection.type === "suggestion" && !suggestions[selection.index])) selection = {};
    const img = model.get("image");
    const item = model.get("item");
    if (item !== confirmedItem) {
      confirmedItem = item;
      measure("confirm", { item, suggestions: suggestions.length, boxes: boxes.length });
    }
    // the kernel's state (boxes are set by the kernel only, after the store has them)
    measure("state", { item, suggestions: suggestions.length, boxes: boxes.length });
    const fresh = img !== decodedImage && img && img.byteLength;
    decodedImage = img;
    if (fresh) {
      const p = decodeBytes(img, model.get("image_format"));
      cache.set(item, p);
      show(p, item);
    } else if (item !== bitmapItem && !(decoding && showing === item)) {
      const slot = slotOf(item);
      show(cache.get(item) || (slot ? decodeBytes(slot.image, slot.format) : Promise.resolve(null)), item);
    } else {
      drawBoxes(); drawUi(); updateStatus();
    }
    updateLegend();
  }

  // images sent ahead (slots) are decoded as they arrive, so "next" paints at once
  const cache = new Map(); // item -> Promise<ImageBitmap | null>
  let showing = null;
  let confirmedItem = null; // the item the kernel says is current (for the bench hook)
  function decodeBytes(bytes, format) {
    if (!bytes || !bytes.byteLength) return Promise.resolve(null);
    return createImageBitmap(new Blob([bytes], { type: "image/" + (format || "jpeg") }))
      .catch((err) => { console.error("nblabel: cannot decode the image", err); return null; });
  }
  function slotOf(item) {
    for (const n of ["slot_0", "slot_1"]) {
      const s = model.get(n);
      if (s && s.item === item && s.image) return s;
    }
    return null;
  }
  function onSlots() {
    const keep = new Set([bitmapItem, model.get("item")]);
    for (const n of ["slot_0", "slot_1"]) {
      const s = model.get(n);
      if (!s || !s.item) continue;
      keep.add(s.item);
      if (!cache.has(s.item)) cache.set(s.item, decodeBytes(s.image, s.format));
    }
    for (const k of [...cache.keys()]) if (!keep.has(k)) cache.delete(k);
  }

  async function show(promise, item) {
    const seq = ++decodeSeq;
    decoding = true;
    showing = item;
    drawBoxes();
    const bmp = await promise;
    if (seq !== decodeSeq) return;
    bitmap = bmp;
    decoding = false;
    showing = null;
    const newItem = item !== bitmapItem;
    bitmapItem = item;
    if (newItem) selection = {};
    if (newItem || !view.zoom) fit();
    drawAll();
    measure("image", { item });
    if (newItem) refocus();
  }

  function predictNext() {
    // paint the item the kernel said "next" will show; its confirmation follows
    const p = model.get("next_item");
    if (!p || p === bitmapItem || !cache.has(p) || decoding) return;
    const slot = slotOf(p);
    boxes = slot && slot.boxes ? slot.boxes.map((b) => ({ ...b })) : [];
    suggestions = [];
    selection = {};
    show(cache.get(p), p);
  }

  function refocus() {
    // keys keep working after "next" from a button: focus comes back unless the user is
    // typing somewhere else
    const a = document.activeElement;
    const app = root.closest(".nblabel-app");
    const idle = !a || a === document.body || a === root || (app && app.contains(a) &&
      !(a.matches && a.matches("input, textarea, select, [contenteditable]")));
    if (idle) root.focus({ preventScroll: true });
  }

  // selSeq counts the user's selection changes; every message carries it and the kernel's
  // "select" answers echo it, so an answer to an older message never overrides a newer click
  let selSeq = 0;
  const send = (msg) => model.send({ ...msg, seq: selSeq });
  function select(sel) {
    selSeq++;
    selection = sel || {};
    model.set("selection", selection);
    model.save_changes();
    drawBoxes(); updateStatus();
  }
  // a short toast over the image: a key changed the class of an existing box
  let flashTimer = null;
  function flash(text) {
    flashEl.textContent = text || "";
    flashEl.hidden = !text;
    if (flashTimer) clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { flashEl.hidden = true; flashTimer = null; }, 1800);
  }
  function onMessage(msg) {
    if (msg && msg.type === "flash") { flash(msg.text); return; }
    if (!msg || msg.type !== "select") return;
    if (msg.seq != null && msg.seq < selSeq) return; // the user selected something since
    selection = msg.selection || {};
    model.set("selection", selection); // the kernel has it already: no save
    drawBoxes(); updateStatus();
  }

  // -- committing edits -------------------------------------------------------------------
  function commitEdit(target, rect) {
    const box = rect.map(r2);
    const [x0, y0, x1, y1] = box;
    if (target.type === "box") {
      Object.assign(boxes[target.index], { x0, y0, x1, y1 });
      send({ type: "update", index: target.index, box });
    } else {
      Object.assign(suggestions[target.index].boxes[target.box], { x0, y0, x1, y1 });
      send({ type: "edit_suggestion", index: target.index, box_index: target.box, box });
    }
  }

  // -- mouse ------------------------------------------------------------------------------
  function local(e) {
    const r = uiC.getBoundingClientRect();
    return [(e.clientX - r.left) * (W / r.width), (e.clientY - r.top) * (H / r.height)];
  }
  function clampImg([x, y]) { return [clamp(x, 0, IW()), clamp(y, 0, IH())]; }

  function onDown(e) {
    root.focus({ preventScroll: true });
    e.preventDefault();
    const [cx, cy] = local(e);
    if (e.button === 1 || spaceDown || e.altKey || e.ctrlKey || e.metaKey) {
      drag = { mode: "pan", start: [cx, cy], view0: { ...view }, moved: false };
    } else if (e.button !== 0) {
      return;
    } else if (extreme && bitmap) { // extreme clicks: points, not drags
      const [ix, iy] = clampImg(canvasToImage(cx, cy, view));
      extreme.push([ix, iy]);
      if (extreme.length === 4) {
        const xs = extreme.map((q) => q[0]), ys = extreme.map((q) => q[1]);
        const r = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
        extreme = null;
        if (r[2] - r[0] >= MIN_BOX && r[3] - r[1] >= MIN_BOX) {
          const box = r.map(r2);
          boxes.push({ label: model.get("active_class"), x0: box[0], y0: box[1], x1: box[2], y1: box[3] });
          select({});
          send({ type: "draw", box, extreme: true });
        }
      }
      drawBoxes(); drawUi(); updateStatus();
      return;
    } else {
      const [ix, iy] = canvasToImage(cx, cy, view);
      const objs = objects();
      const hit = hitTest(objs.map((o) => rectOf(o.b)), ix, iy, HANDLE_PX / view.zoom);
      if (hit) {
        const o = objs[hit[0]];
        select({ type: o.type, index: o.index, box: o.box });
        drag = { mode: "edit", target: o, handle: hit[1], start: [cx, cy], startImg: [ix, iy],
          orig: rectOf(o.b), rect: null, moved: false };
      } else if (bitmap) {
        drag = { mode: "draw", start: [cx, cy], startImg: clampImg([ix, iy]), rect: null, moved: false };
      }
    }
    if (drag) { try { uiC.setPointerCapture(e.pointerId); } catch (_) { /* synthetic event */ } }
  }

  function onMove(e) {
    const [cx, cy] = local(e);
    pointer = [cx, cy];
    if (!drag) {
      const [ix, iy] = canvasToImage(cx, cy, view);
      const hit = hitTest(objects().map((o) => rectOf(o.b)), ix, iy, HANDLE_PX / view.zoom);
      uiC.style.cursor = spaceDown ? "grab" : hit ? CURSORS[hit[1]] : "crosshair";
      return;
    }
    if (!drag.moved) {
      if (Math.hypot(cx - drag.start[0], cy - drag.start[1]) < DRAG_THRESHOLD) return;
      drag.moved = true;
      if (drag.mode === "edit") drawBoxes(); // the dragged box moves to the ui layer
    }
    if (drag.mode === "pan") {
      view = { ...drag.view0, panX: drag.view0.panX + cx - drag.start[0], panY: drag.view0.panY + cy - drag.start[1] };
      drawImage(); drawBoxes();
      measure("ui", {});
      return;
    }
    const [ix, iy] = canvasToImage(cx, cy, view);
    if (drag.mode === "draw") {
      const [jx, jy] = clampImg([ix, iy]);
      const [sx, sy] = drag.startImg;
      drag.rect = [Math.min(sx, jx), Math.min(sy, jy), Math.max(sx, jx), Math.max(sy, jy)];
    } else {
      drag.rect = dragBox(drag.orig, drag.handle, ix - drag.startImg[0], iy - drag.startImg[1], IW(), IH());
    }
    drawUi();
  }

  function onUp() {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (d.mode === "draw") {
      const r = d.rect;
      if (d.moved && r && r[2] - r[0] >= MIN_BOX && r[3] - r[1] >= MIN_BOX) {
        const box = r.map(r2);
        boxes.push({ label: model.get("active_class"), x0: box[0], y0: box[1], x1: box[2], y1: box[3] });
        // pick-then-draw: a new box is not selected, so the next class key or class button
        // sets the class of the *next* box and never relabels this one
        select({});
        send({ type: "draw", box });
      } else if (!d.moved) {
        select({});
      }
    } else if (d.mode === "edit" && d.moved && d.rect) {
      commitEdit(d.target, d.rect);
    } else if (d.mode === "edit" && !d.moved && EDGES.includes(d.handle)) {
      // a click (no drag) on an edge selects that edge
      select({ type: d.target.type, index: d.target.index, box: d.target.box, edge: d.handle });
    }
    drawBoxes(); drawUi(); updateStatus();
  }

  function onDblClick(e) {
    const [cx, cy] = local(e);
    const [ix, iy] = canvasToImage(cx, cy, view);
    const objs = objects();
    const hit = hitTest(objs.map((o) => rectOf(o.b)), ix, iy, HANDLE_PX / view.zoom);
    if (hit && objs[hit[0]].type === "suggestion") {
      const o = objs[hit[0]];
      select({ type: o.type, index: o.index, box: o.box });
      send({ type: "action", action: "accept", selection });
    }
  }

  function onWheel(e) {
    if (!(document.activeElement === root || e.ctrlKey)) return; // let the page scroll
    e.preventDefault(); e.stopPropagation();
    const [cx, cy] = local(e);
    view = zoomAbout(view, Math.exp(-e.deltaY * 0.0015), cx, cy, minZoom());
    drawAll();
  }

  // -- keys -------------------------------------------------------------------------------
  // key: the name of the key that asked (sent as a "key" message), none for a click
  function runAction(action, big, key) {
    const c = pointer || [W / 2, H / 2];
    switch (action) {
      case "zoom_in": view = zoomAbout(view, 1.25, c[0], c[1], minZoom()); drawAll(); return;
      case "zoom_out": view = zoomAbout(view, 0.8, c[0], c[1], minZoom()); drawAll(); return;
      case "zoom_reset": fit(); drawAll(); return;
      case "help": if (help.hidden) buildHelp(); help.hidden = !help.hidden; return;
      case "deselect": if (!help.hidden) help.hidden = true; else select({}); return;
      case "extreme_clicks":
        extreme = extreme ? null : [];
        drawUi(); updateStatus();
        return;
      case "next_edge": {
        if (!objects().some((x) => same(x, selection))) return;
        const i = EDGES.indexOf(selection.edge);
        select({ ...selection, edge: EDGES[(i + 1) % EDGES.length] });
        return;
      }
      case "next_box": {
        const objs = objects();
        if (!objs.length) return;
        const i = objs.findIndex((o) => same(o, selection));
        const o = objs[(i + 1) % objs.length];
        select({ type: o.type, index: o.index, box: o.box });
        return;
      }
      default: break;
    }
    if (action.startsWith("nudge_")) {
      const step = big ? 10 : 1;
      const [dx, dy] = { nudge_left: [-1, 0], nudge_right: [1, 0], nudge_up: [0, -1], nudge_down: [0, 1] }[action];
      const o = objects().find((x) => same(x, selection));
      if (!o) { // nothing selected: the arrows pan
        view = { ...view, panX: view.panX - dx * 40, panY: view.panY - dy * 40 };
        drawAll();
        return;
      }
      const edge = selection.edge;
      if (edge) { // an edge is selected: the arrows along its axis move only it
        if ((edge === "w" || edge === "e") ? dx === 0 : dy === 0) return;
        commitEdit(o, dragBox(rectOf(o.b), edge, dx * step, dy * step, IW(), IH()));
        drawBoxes();
        return;
      }
      commitEdit(o, dragBox(rectOf(o.b), "move", dx * step, dy * step, IW(), IH()));
      drawBoxes();
      return;
    }
    const sel = selection; // sent along: the trait sync of a click can arrive later
    if (action === "next" || action === "skip" || action === "submit") predictNext();
    send(key ? { type: "key", key, selection: sel } : { type: "action", action, selection: sel });
  }

  function onKey(e) {
    if (e.key === " ") { spaceDown = true; e.preventDefault(); e.stopPropagation(); return; }
    const name = keyName(e);
    if (name === null) return; // a modifier alone
    const action = actionFor(model.get("keymap"), name);
    if (!action) {
      if (!(e.ctrlKey || e.metaKey)) e.stopPropagation(); // keep notebook shortcuts quiet
      return;
    }
    e.preventDefault(); e.stopPropagation();
    runAction(action, e.shiftKey, name);
  }
  function onKeyUp(e) { if (e.key === " ") spaceDown = false; }

  uiC.addEventListener("pointerdown", onDown);
  uiC.addEventListener("pointermove", onMove);
  uiC.addEventListener("pointerup", onUp);
  uiC.addEventListener("pointercancel", onUp);
  uiC.addEventListener("dblclick", onDblClick);
  uiC.addEventListener("wheel", onWheel, { passive: false });
  uiC.addEventListener("contextmenu", (e) => e.preventDefault());
  root.addEventListener("keydown", onKey);
  root.addEventListener("keyup", onKeyUp);
  root.addEventListener("focus", updateStatus);
  root.addEventListener("blur", () => { spaceDown = false; updateStatus(); });
  help.addEventListener("click", () => { help.hidden = true; });

  const onSize = () => { resize(); fit(); drawAll(); };
  const names = ["boxes", "suggestions", "image", "image_slot", "item", "revision",
    "active_class", "classes", "colors", "notice"];
  const listeners = [...names.map((n) => ["change:" + n, queueSync]), ["change:width", onSize],
    ["change:height", onSize], ["change:help", buildHelp], ["change:slot_0", onSlots],
    ["change:slot_1", onSlots], ["msg:custom", onMessage]];
  for (const [event, fn] of listeners) model.on(event, fn);

  resize();
  onSlots();
  sync();
  if (model.get("measure")) measure("render", {});

  return () => {
    if (flashTimer) clearTimeout(flashTimer);
    for (const [event, fn] of listeners) model.off(event, fn);
  };
}

export default { render };
