// One modelled student of `nblabel bench classroom`, run inside the student's page.
// Reads the paint timestamps BoxLabeler records when canvas.measure is true
// (window.__nblabel_measure: "image" painted, "confirm" = the kernel's new item, "state" =
// the kernel's boxes/suggestions) and acts with synthetic key and pointer events, as the
// widget benchmark's probes do. Called as ([actions, pace, timeoutMs]).
async ([actions, pace, timeoutMs]) => {
  const m = window.__nblabel_measure;
  const root = m.stage.closest('.nbl-root');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const st = window.__student = {
    items: [], saved: [], errors: [], done: false, reason: null, t0: performance.now(),
  };
  const key = (k) => root.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true,
                                                                       cancelable: true}));
  const pointer = (type, x, y, buttons) => {
    const r = m.stage.getBoundingClientRect();
    const o = {clientX: r.left + x, clientY: r.top + y, bubbles: true, cancelable: true,
               button: 0, buttons, pointerId: 1, pointerType: 'mouse', isPrimary: true,
               view: window};
    m.stage.dispatchEvent(new PointerEvent(type, o));
    const mt = {pointerdown: 'mousedown', pointermove: 'mousemove', pointerup: 'mouseup'}[type];
    m.stage.dispatchEvent(new MouseEvent(mt, o));
  };
  const find = (pred, since) => m.events.find((e) => e.t >= since && pred(e));
  const last = (pred) => { for (let i = m.events.length - 1; i >= 0; i--) if (pred(m.events[i])) return m.events[i]; return null; };
  const until = async (fn, ms) => {
    const end = performance.now() + ms;
    for (;;) { const v = fn(); if (v || performance.now() > end) return v; await sleep(5); }
  };
  const counter = () => (document.querySelector('.nblabel-counter') || {}).textContent || '';
  // the item the kernel says is current, when it is on screen
  const confirm0 = last((e) => e.kind === 'confirm');
  let item = confirm0 ? confirm0.item : null;
  let ready = confirm0 ? confirm0.suggestions > 0 : false;
  const boxesOf = (it) => { const s = last((e) => e.kind === 'state' && e.item === it); return s ? s : {boxes: 0, suggestions: 0}; };
  let draws = 0;
  try {
    for (let n = 0; n < actions && item; n++) {
      const rec = {item, ready, action: null, saved_ms: null, next_ms: null, confirm_ms: null,
                   predicted: null, shown_at: Date.now() / 1000};
      st.items.push(rec);
      await sleep(1700 * pace);  // look at the photo
      const t1 = performance.now();
      if (boxesOf(item).suggestions > 0) {
        rec.action = 'accept';
        key('Enter');
      } else {
        rec.action = 'draw';
        await sleep(Math.max(0, 7000 - 1700 - 600) * pace);  // find the food, aim
        const dx = (draws++ % 5) * 20;
        pointer('pointerdown', 220 + dx, 160, 1);
        for (let i = 1; i <= 12; i++) { pointer('pointermove', 220 + dx + i * 15, 160 + i * 12, 1); await sleep(50 * pace); }
        pointer('pointerup', 220 + dx + 180, 160 + 144, 0);
      }
      // saved: the kernel sends the item's boxes back after the store has the label
      const saved = await until(() => find((e) => e.kind === 'state' && e.item === item && e.boxes > 0, t1), timeoutMs);
      if (!saved) { st.errors.push(`no saved label for ${item} (${rec.action})`); }
      else { rec.saved_ms = saved.t - t1; st.saved.push(item); }
      // next photo: key -> the kernel's new item painted
      const t0 = performance.now();
      key('n');
      const c = await until(() => find((e) => e.kind === 'confirm' && e.item !== item, t0), timeoutMs);
      if (!c) {
        st.reason = /no items/.test(counter()) || !last((e) => e.kind === 'confirm' && e.t >= t0)
          ? 'no more items' : 'no next item in time';
        item = null;
        break;
      }
      rec.confirm_ms = c.t - t0;
      if (!c.item) { st.reason = 'no more items'; item = null; break; }
      const img = await until(() => find((e) => e.kind === 'image' && e.item === c.item, t0), timeoutMs);
      const first = find((e) => e.kind === 'image' && e.item !== item, t0);
      rec.next_ms = img ? img.t - t0 : null;
      rec.predicted = !!(first && first.item === c.item && first.t <= c.t);
      item = c.item;
      ready = c.suggestions > 0;
    }
    if (!st.reason) st.reason = item ? 'actions done' : 'no more items';
  } catch (err) {
    st.errors.push(String(err && err.stack || err));
    st.reason = 'error';
  }
  st.done = true;
  st.elapsed_ms = performance.now() - st.t0;
}
