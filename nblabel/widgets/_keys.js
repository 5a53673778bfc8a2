// nblabel key names and keymap look-up, shared by both widgets: Python prepends this file to
// box_canvas.js and tag_picker.js (nblabel/widgets/_protocol.py, compose_esm). The rule is
// the one of key_name() in _protocol.py: modifiers Ctrl (Cmd/Meta too), Alt, Shift, then
// KeyboardEvent.key with letters in lower case and Shift written out ("Ctrl+Shift+z",
// "Shift+Enter"); a character that is not a letter carries its Shift ("?", "+").

const MODIFIER_KEYS = new Set(["Shift", "Control", "Alt", "Meta", "CapsLock", "AltGraph",
  "OS", "Fn", "Hyper", "Super", "NumLock", "ScrollLock", "Dead", "Unidentified"]);
const KEY_ALIASES = { " ": "Space", Spacebar: "Space", Esc: "Escape", Del: "Delete",
  Left: "ArrowLeft", Right: "ArrowRight", Up: "ArrowUp", Down: "ArrowDown" };

const isLetter = (k) => k.length === 1 && k.toLowerCase() !== k.toUpperCase();

// the canonical name of a keydown, or null for a modifier pressed alone
export function keyName(e) {
  let k = e.key;
  if (!k || MODIFIER_KEYS.has(k)) return null;
  k = KEY_ALIASES[k] || k;
  const letter = isLetter(k);
  if (letter) k = k.toLowerCase(); // Caps Lock and Shift both give "Z": Shift decides
  const mods = [];
  if (e.ctrlKey || e.metaKey) mods.push("Ctrl");
  if (e.altKey) mods.push("Alt");
  if (e.shiftKey && (letter || k.length > 1)) mods.push("Shift");
  return [...mods, k].join("+");
}

// keymap: {action: [keys]}; the keys bound to an action
export function keysFor(keymap, action) {
  return (keymap && keymap[action]) || [];
}

// the action of a key name, or null; an unbound Shift chord of a named key falls back to
// the chord without Shift (Shift+ArrowLeft nudges further)
export function actionFor(keymap, name) {
  for (const [action, keys] of Object.entries(keymap || {})) {
    if (keys.includes(name)) return action;
  }
  const parts = name.endsWith("++") ? [...name.slice(0, -2).split("+"), "+"] : name.split("+");
  const base = parts[parts.length - 1];
  if (parts.includes("Shift") && base.length > 1) {
    return actionFor(keymap, parts.filter((p) => p !== "Shift").join("+"));
  }
  return null;
}
