// nblabel tag picker: item view, tag chips, type-to-filter completion, suggestions, keys.
// Renders synced state only; every user intent is sent to Python (model.send) where the
// session decides. Text is set with textContent, never parsed as HTML: markup shows as text.
// keyName and actionFor come from _keys.js, which Python puts before this file
// (nblabel/widgets/_protocol.py); messages are {type: ...} as documented there.

const norm = (s) => s.trim().toLowerCase().replace(/[\s_]+/g, "-").replace(/-{2,}/g, "-");

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// completion: tags whose name or alias starts with the query first, then those containing it
export function complete(choices, query, limit) {
  const q = norm(query);
  if (!q) return [];
  const starts = [], contains = [], seen = new Set();
  for (const [tag, aliases] of choices) {
    let best = 0;
    for (const key of [tag, ...(aliases || [])]) {
      if (key.startsWith(q)) { best = 2; break; }
      if (key.includes(q)) best = 1;
    }
    if (best === 2) starts.push(tag); else if (best === 1) contains.push(tag);
  }
  const out = [];
  for (const t of [...starts.sort(), ...contains.sort()]) {
    if (!seen.has(t)) { seen.add(t); out.push(t); }
    if (out.length >= limit) break;
  }
  return out;
}

function render({ model, el: root }) {
  root.classList.add("nbl-tagger");
  root.tabIndex = 0;
  const item = el("div", "nbl-item");
  const textBox = el("div", "nbl-text");
  const img = el("img", "nbl-image");
  img.alt = "item image";
  item.append(textBox, img);
  const chipRow = el("div", "nbl-chips");
  const chips = el("span", "nbl-chip-list");
  const inputWrap = el("span", "nbl-input-wrap");
  const input = el("input", "nbl-input");
  input.type = "text";
  input.spellcheck = false;
  input.autocomplete = "off";
  input.setAttribute("aria-label", "add a tag");
  const list = el("ul", "nbl-complete");
  list.setAttribute("role", "listbox");
  inputWrap.append(input, list);
  chipRow.append(chips, inputWrap);
  const sugg = el("div", "nbl-suggestions");
  const hint = el("div", "nbl-hint");
  root.append(item, chipRow, sugg, hint);

  let active = 0;
  let matches = [];
  let imgUrl = null;

  const send = (msg) => model.send(msg);

  function drawItem() {
    const text = model.get("text");
    textBox.textContent = text || "";
    textBox.style.display = text ? "" : "none";
    textBox.style.maxHeight = model.get("text_height");
    const data = model.get("image");
    if (imgUrl) { URL.revokeObjectURL(imgUrl); imgUrl = null; }
    if (data && data.byteLength) {
      const blob = new Blob([data], { type: "image/" + model.get("image_format") });
      imgUrl = URL.createObjectURL(blob);
      img.src = imgUrl;
      img.style.display = "";
      img.style.maxHeight = model.get("image_height");
    } else {
      img.removeAttribute("src");
      img.style.display = "none";
    }
    item.scrollTop = 0;
    textBox.scrollTop = 0;
  }

  function drawChips() {
    chips.replaceChildren();
    for (const c of model.get("chips")) {
      const chip = el("span", "nbl-chip nbl-chip-" + c.kind);
      chip.dataset.tag = c.tag;
      chip.title = c.kind === "prefill" ? "pre-filled tag" : c.kind === "parent" ? "implied parent" : "tag";
      chip.append(el("span", "nbl-chip-label", c.tag));
      const x = el("button", "nbl-chip-x", "\u00d7");
      x.type = "button";
      x.title = "remove " + c.tag;
      x.setAttribute("aria-label", "remove " + c.tag);
      x.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "remove", tag: c.tag }); input.focus(); });
      chip.append(x);
      chips.append(chip);
    }
    input.placeholder = model.get("placeholder");
  }

  function drawSuggestions() {
    sugg.replaceChildren();
    const items = model.get("suggestions");
    if (items.length) sugg.append(el("span", "nbl-sugg-title", model.get("suggestion_title")));
    items.forEach((s, i) => {
      const b = el("button", "nbl-sugg");
      b.type = "button";
      b.dataset.tag = s.tag;
      if (i < 9) b.append(el("kbd", "nbl-key", String(i + 1)));
      b.append(el("span", "nbl-sugg-label", s.tag));
      if (s.p !== null && s.p !== undefined) b.append(el("span", "nbl-p", s.p.toFixed(2)));
      if (s.on) b.classList.add("nbl-sugg-on");
      b.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "accept", tag: s.tag }); input.focus(); });
      sugg.append(b);
    });
  }

  function drawList() {
    list.replaceChildren();
    const q = input.value;
    matches = q ? complete(model.get("choices"), q, model.get("max_completions")) : [];
    if (q && model.get("allow_new") && !matches.includes(norm(q))) matches.push(norm(q));
    if (active >= matches.length) active = 0;
    matches.forEach((t, i) => {
      const li = el("li", "nbl-option" + (i === active ? " nbl-option-active" : ""), t);
      li.setAttribute("role", "option");
      li.dataset.tag = t;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(t); });
      list.append(li);
    });
    list.style.display = matches.length ? "" : "none";
    const current = list.children[active]; // the list scrolls in its own box: keep it in view
    if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
  }

  function pick(tag) {
    send({ type: "add", tag });
    input.value = "";
    active = 0;
    drawList();
    input.focus();
  }

  function onKey(e) {
    e.stopPropagation(); // no JupyterLab command-mode shortcut while the tagger has focus
    const name = keyName(e);
    if (name === null) return;
    const typing = e.target === input && input.value !== "";
    if (typing) {
      if (name === "Enter") { e.preventDefault(); pick(matches.length ? matches[active] : input.value); }
      else if (name === "ArrowDown" || name === "ArrowUp") {
        e.preventDefault();
        const n = matches.length || 1;
        active = (active + (name === "ArrowDown" ? 1 : n - 1)) % n;
        drawList();
      } else if (name === "Tab" && matches.length) { e.preventDefault(); input.value = matches[active]; drawList(); }
      else if (name === "Escape") { e.preventDefault(); input.value = ""; drawList(); }
      return;
    }
    const action = actionFor(model.get("keymap"), name);
    const number = action && action.startsWith("pick:") ? Number(action.slice(5)) : 0;
    if (number > model.get("suggestions").length) {
      // no suggestion with that number: the digit starts a tag ("3d")
      if (e.target !== input) input.focus();
    } else if (action !== null) {
      e.preventDefault();
      send({ type: "key", key: name });
    } else if (e.target !== input && name.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      input.focus(); // a printable key anywhere in the tagger starts typing a tag
    }
  }

  root.addEventListener("keydown", onKey);
  root.addEventListener("mousedown", (e) => {
    if (e.target === root || item.contains(e.target) || e.target === chipRow || e.target === sugg) {
      // keep the item text selectable; keys still reach the tagger
      if (!item.contains(e.target)) { e.preventDefault(); input.focus(); } else root.focus({ preventScroll: true });
    }
  });
  input.addEventListener("input", () => { active = 0; drawList(); });
  input.addEventListener("blur", () => { list.style.display = "none"; });
  input.addEventListener("focus", () => drawList());

  function drawHint() {
    hint.textContent = model.get("hint");
  }

  const onMessage = (msg) => { if (msg && msg.type === "focus") input.focus(); };
  const listeners = [["change:text", drawItem], ["change:image", drawItem],
    ["change:chips", drawChips], ["change:suggestions", drawSuggestions],
    ["change:choices", drawList], ["change:hint", drawHint], ["msg:custom", onMessage]];
  for (const [event, fn] of listeners) model.on(event, fn);
  drawItem();
  drawChips();
  drawSuggestions();
  drawHint();
  list.style.display = "none";
  return () => {
    if (imgUrl) URL.revokeObjectURL(imgUrl);
    for (const [event, fn] of listeners) model.off(event, fn);
  };
}

export default { render };
