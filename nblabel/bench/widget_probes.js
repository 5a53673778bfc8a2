// Probes for `nblabel bench widget` (evaluated in the page by Playwright).
// hook: reads the timestamps BoxLabeler records when canvas.measure is true.
// ext: watches any widget from outside (pixels, <img> loads, DOM mutations) every frame.
() => {
  const pointerInstall = () => { window.__bench_pointer = (el, type, x, y, buttons) => {
  const r = el.getBoundingClientRect();
  const o = {clientX: r.left + x, clientY: r.top + y, bubbles: true, cancelable: true,
             button: 0, buttons, pointerId: 1, pointerType: 'mouse', isPrimary: true,
             view: window};
  el.dispatchEvent(new PointerEvent(type, o));
  const mt = {pointerdown: 'mousedown', pointermove: 'mousemove', pointerup: 'mouseup'}[type];
  el.dispatchEvent(new MouseEvent(mt, o));
}; };
  pointerInstall();
  window.__bench_hook = {
    next: async ([key, prev, timeout]) => {
  const m = window.__nblabel_measure;
  const root = m.stage.closest('.nbl-root');
  const t0 = performance.now();
  root.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true, cancelable: true}));
  while (performance.now() < t0 + timeout) {
    const e = m.events.find((e) => e.kind === 'image' && e.t >= t0 && e.item !== prev);
    if (e) {
      let c = null;  // the kernel's confirmation of the same item (state authoritative)
      while (!c && performance.now() < t0 + timeout) {
        c = m.events.find((x) => x.kind === 'confirm' && x.t >= t0 && x.item === e.item);
        if (!c) await new Promise((r) => setTimeout(r, 2));
      }
      return {dt: e.t - t0, item: e.item, confirm: c ? c.t - t0 : null};
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return {dt: null, item: prev};
},
    drag: async ([n, gap]) => {
  const m = window.__nblabel_measure; const el = m.stage; const p = window.__bench_pointer;
  const wait = (t0) => new Promise((res) => { const f = () => {
    const e = m.events.find((e) => e.kind === 'ui' && e.t >= t0); e ? res(e) : setTimeout(f, 1); };
    f(); });
  p(el, 'pointerdown', 150, 120, 1);
  const lat = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    p(el, 'pointermove', 170 + i * 3, 140 + i * 2, 1);
    const e = await wait(t0); lat.push(e.t - t0);
    await new Promise((r) => setTimeout(r, gap));
  }
  p(el, 'pointerup', 170 + n * 3, 140 + n * 2, 0);
  return lat;
},
    burst: async ([n]) => {
  const m = window.__nblabel_measure; const el = m.stage; const p = window.__bench_pointer;
  p(el, 'pointerdown', 120, 100, 1);
  await new Promise((r) => setTimeout(r, 50));
  const t1 = performance.now();
  for (let i = 0; i < n; i++) p(el, 'pointermove', 140 + i * 3, 120 + i * 2, 1);
  const tLast = performance.now();
  const e = await new Promise((res) => { const f = () => {
    const e = m.events.find((e) => e.kind === 'ui' && e.t >= tLast); e ? res(e) : setTimeout(f, 1); };
    f(); });
  p(el, 'pointerup', 140 + n * 3, 120 + n * 2, 0);
  return {after_last: e.t - tLast, dispatch: tLast - t1, total: e.t - t1};
},
  };
  const extInstall = () => {
  const afterPaint = () => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
  const ext = window.__bench_ext = {muts: 0};
  new MutationObserver((ms) => { ext.muts += ms.length; })
    .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  ext.sig = (root, probe) => {
    let s = '';
    for (const img of root.querySelectorAll('img')) s += img.src + (img.complete ? 'c' + img.naturalWidth : 'l');
    for (const c of root.querySelectorAll('canvas')) {
      if (!c.width || !c.height) continue;
      const ctx = c.getContext('2d'); if (!ctx) continue;
      const r = c.getBoundingClientRect(); if (!r.width) continue;
      const sx = c.width / r.width, sy = c.height / r.height;
      let x, y, w, h;
      if (probe) { x = Math.floor((probe.x - r.left) * sx) - 2; y = Math.floor((probe.y - r.top) * sy) - 2; w = 5; h = 5; }
      else { x = 0; y = Math.floor(c.height / 2); w = c.width; h = 1; }
      if (x < 0 || y < 0 || x + w > c.width || y + h > c.height) continue;
      const d = ctx.getImageData(x, y, w, h).data;
      let hsh = 0;
      for (let i = 0; i < d.length; i += 4) hsh = (hsh * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) | 0;
      s += '|' + hsh;
    }
    if (probe) s += '#' + ext.muts;
    return s;
  };
  ext.waitChange = async (root, probe, sig0, timeout) => {
    const t0 = performance.now();
    while (performance.now() - t0 < timeout) {
      await new Promise((r) => requestAnimationFrame(r));
      if (ext.sig(root, probe) !== sig0) return await afterPaint();
    }
    return null;
  };
  ext.pointer = (type, x, y, buttons) => {
    const el = document.elementFromPoint(x, y) || document.body;
    const o = {clientX: x, clientY: y, bubbles: true, cancelable: true, composed: true, button: 0,
               buttons, pointerId: 1, pointerType: 'mouse', isPrimary: true, view: window};
    el.dispatchEvent(new PointerEvent(type, o));
    el.dispatchEvent(new MouseEvent({pointerdown: 'mousedown', pointermove: 'mousemove', pointerup: 'mouseup'}[type], o));
  };
  ext.stageRect = (sel) => document.querySelector(sel).getBoundingClientRect();
  // next: trigger() then wait for the image signature to change
  ext.next = async (rootSel, trigger, timeout) => {
    const root = document.querySelector(rootSel);
    const sig0 = ext.sig(root, null);
    const t0 = performance.now();
    trigger();
    const t = await ext.waitChange(root, null, sig0, timeout);
    return t === null ? null : t - t0;
  };
  ext.drag = async (rootSel, stageSel, n, gap, dx, dy) => {
    const root = document.querySelector(rootSel); const r = ext.stageRect(stageSel);
    const x0 = r.left + 20, y0 = r.top + 20;
    ext.pointer('pointerdown', x0, y0, 1);
    await new Promise((res) => setTimeout(res, 30));
    const lat = [];
    for (let i = 1; i <= n; i++) {
      const p = {x: x0 + 40 + i * dx, y: y0 + 30 + i * dy};
      const sig0 = ext.sig(root, p);
      const t0 = performance.now();
      ext.pointer('pointermove', p.x, p.y, 1);
      const t = await ext.waitChange(root, p, sig0, 3000);
      lat.push(t === null ? null : t - t0);
      await new Promise((res) => setTimeout(res, gap));
    }
    ext.pointer('pointerup', x0 + 40 + n * dx, y0 + 30 + n * dy, 0);
    return lat;
  };
  ext.burst = async (rootSel, stageSel, n, dx, dy) => {
    const root = document.querySelector(rootSel); const r = ext.stageRect(stageSel);
    const x0 = r.left + 20, y0 = r.top + 20;
    ext.pointer('pointerdown', x0, y0, 1);
    await new Promise((res) => setTimeout(res, 50));
    const last = {x: x0 + 20 + n * dx, y: y0 + 20 + n * dy};
    const sig0 = ext.sig(root, last);
    for (let i = 1; i <= n; i++) ext.pointer('pointermove', x0 + 20 + i * dx, y0 + 20 + i * dy, 1);
    const tLast = performance.now();
    const t = await ext.waitChange(root, last, sig0, 10000);
    ext.pointer('pointerup', last.x, last.y, 0);
    await new Promise((res) => setTimeout(res, 300));
    return t === null ? null : t - tLast;
  };
};
  extInstall();
}
