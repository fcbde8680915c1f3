// Set-of-Mark element discovery, run in the page's top frame by WebSession. It walks the top document, open shadow
// roots and same-origin iframes (cross-origin frames are opaque to it and so never marked), keeps interactive elements
// whose centre hit-tests to themselves, numbers them top-to-bottom then left-to-right, and remembers the element
// objects for the observation id so that actions can re-validate them. Nothing in the page is mutated.
window.__magmaSom = window.__magmaSom || (function () {
  'use strict';
  const ATOMIC_ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'tab', 'menuitem', 'menuitemcheckbox',
    'menuitemradio', 'option', 'switch', 'treeitem']);
  const ROLES = new Set([...ATOMIC_ROLES, 'combobox', 'textbox', 'searchbox', 'slider', 'spinbutton']);
  const api = { current: null, docs: new WeakSet(), mutations: 0, opened: 0 };

  function watch(doc) {
    if (api.docs.has(doc)) return;
    api.docs.add(doc);
    try {
      new doc.defaultView.MutationObserver(function (records) { api.mutations += records.length; })
        .observe(doc, { subtree: true, childList: true, attributes: true, characterData: true });
      // Counts attempts to open a tab, so the host knows to wait for one whose 'page' event is still in flight.
      doc.addEventListener('click', function (e) {
        const a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
        const t = a ? (a.getAttribute('target') || '').toLowerCase() : '';
        if (a && t && t !== '_self' && t !== '_parent' && t !== '_top') api.opened++;
      }, true);
      const win = doc.defaultView, open = win.open;
      win.open = function () { api.opened++; return open.apply(this, arguments); };
    } catch (e) { /* a document that is going away */ }
  }

  function parentOf(node) {
    if (node.parentNode && node.parentNode.nodeType === 11 && node.parentNode.host) return node.parentNode.host;
    return node.parentNode && node.parentNode.nodeType === 1 ? node.parentNode : null;
  }

  function composedContains(outer, inner) {
    for (let n = inner; n; ) {
      if (n === outer) return true;
      if (n.parentNode) n = n.parentNode.nodeType === 11 ? n.parentNode.host : n.parentNode;
      else return false;
    }
    return false;
  }

  // Offset of an element's frame chain in top-frame CSS pixels, and the visible content boxes of those frames.
  function frameChain(el) {
    let x = 0, y = 0; const clips = []; const path = [];
    let win = el.ownerDocument.defaultView;
    while (win && win.frameElement) {
      const fe = win.frameElement; const fr = fe.getBoundingClientRect(); const cs = getComputedStyle(fe);
      const ox = fr.left + fe.clientLeft + parseFloat(cs.paddingLeft || '0');
      const oy = fr.top + fe.clientTop + parseFloat(cs.paddingTop || '0');
      x += ox; y += oy;
      clips.push({ fe: fe, w: win.innerWidth, h: win.innerHeight });
      path.unshift(fe.id ? '#' + fe.id : (fe.name ? fe.name : 'iframe'));
      win = fe.ownerDocument.defaultView;
    }
    return { x: x, y: y, clips: clips, path: path.join('>') };
  }

  function intersect(a, b) {
    const l = Math.max(a.l, b.l), t = Math.max(a.t, b.t), r = Math.min(a.r, b.r), bo = Math.min(a.b, b.b);
    return { l: l, t: t, r: Math.max(l, r), b: Math.max(t, bo) };
  }

  // The element's box in top-frame CSS px, clipped to scroll containers, its frames and the top viewport.
  function visibleRect(el) {
    const chain = frameChain(el);
    const r = el.getBoundingClientRect();
    let box = { l: r.left + chain.x, t: r.top + chain.y, r: r.right + chain.x, b: r.bottom + chain.y };
    const full = { l: box.l, t: box.t, r: box.r, b: box.b };
    for (let p = parentOf(el); p; p = parentOf(p)) {
      const cs = getComputedStyle(p);
      if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
        const pr = p.getBoundingClientRect();
        box = intersect(box, { l: pr.left + chain.x, t: pr.top + chain.y, r: pr.right + chain.x, b: pr.bottom + chain.y });
      }
    }
    // Each frame clips its content to its own viewport.
    let fx = chain.x, fy = chain.y;
    let win = el.ownerDocument.defaultView;
    while (win && win.frameElement) {
      box = intersect(box, { l: fx, t: fy, r: fx + win.innerWidth, b: fy + win.innerHeight });
      const fe = win.frameElement; const fr = fe.getBoundingClientRect(); const cs = getComputedStyle(fe);
      fx -= fr.left + fe.clientLeft + parseFloat(cs.paddingLeft || '0');
      fy -= fr.top + fe.clientTop + parseFloat(cs.paddingTop || '0');
      win = fe.ownerDocument.defaultView;
    }
    box = intersect(box, { l: 0, t: 0, r: window.innerWidth, b: window.innerHeight });
    return { box: box, full: full, chain: chain };
  }

  function deepHit(doc, x, y) {
    let e = doc.elementFromPoint(x, y);
    while (e && e.shadowRoot) {
      const inner = e.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === e) break;
      e = inner;
    }
    return e;
  }

  // Hit-test a top-frame point through iframes and shadow roots.
  function hitTest(x, y) {
    let doc = document, ox = 0, oy = 0;
    for (let depth = 0; depth < 10; depth++) {
      const e = deepHit(doc, x - ox, y - oy);
      if (!e || e.tagName !== 'IFRAME') return e;
      let inner = null;
      try { inner = e.contentDocument; } catch (err) { inner = null; }
      if (!inner) return e;
      const fr = e.getBoundingClientRect(); const cs = getComputedStyle(e);
      ox += fr.left + e.clientLeft + parseFloat(cs.paddingLeft || '0');
      oy += fr.top + e.clientTop + parseFloat(cs.paddingTop || '0');
      doc = inner;
    }
    return null;
  }

  function role(el) {
    const explicit = (el.getAttribute('role') || '').trim().toLowerCase();
    if (explicit) return explicit;
    const tag = el.tagName;
    if (tag === 'A') return 'link';
    if (tag === 'BUTTON' || tag === 'SUMMARY') return 'button';
    if (tag === 'SELECT') return 'combobox';
    if (tag === 'TEXTAREA') return 'textbox';
    if (tag === 'INPUT') {
      const t = (el.type || 'text').toLowerCase();
      if (t === 'checkbox' || t === 'radio') return t;
      if (t === 'submit' || t === 'button' || t === 'reset' || t === 'image') return 'button';
      if (t === 'file') return 'file';
      if (t === 'range') return 'slider';
      return 'textbox';
    }
    if (el.isContentEditable) return 'textbox';
    return 'generic';
  }

  function clean(s, max) {
    s = (s || '').replace(/\s+/g, ' ').trim();
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  function name(el) {
    const aria = el.getAttribute('aria-label');
    if (aria) return clean(aria, 80);
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const root = el.getRootNode();
      const parts = by.split(/\s+/).map(function (id) { const n = root.getElementById ? root.getElementById(id) : null; return n ? n.textContent : ''; });
      const t = clean(parts.join(' '), 80); if (t) return t;
    }
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') {
      const t = (el.type || '').toLowerCase();
      if (el.labels && el.labels.length) { const l = clean(el.labels[0].textContent, 80); if (l) return l; }
      if ((t === 'submit' || t === 'button' || t === 'reset') && el.value) return clean(el.value, 80);
      if (el.placeholder) return clean(el.placeholder, 80);
      if (el.title) return clean(el.title, 80);
      return clean(el.name || '', 80);
    }
    const text = clean(el.innerText || el.textContent, 80);
    if (text) return text;
    if (el.title) return clean(el.title, 80);
    const img = el.querySelector && el.querySelector('img[alt]');
    return img ? clean(img.alt, 80) : '';
  }

  function isCandidate(el) {
    if (el.disabled) return false;
    const tag = el.tagName;
    if (tag === 'A' && el.hasAttribute('href')) return true;
    if (tag === 'BUTTON' || tag === 'SELECT' || tag === 'TEXTAREA' || tag === 'SUMMARY') return true;
    if (tag === 'INPUT') return (el.type || '').toLowerCase() !== 'hidden';
    const r = (el.getAttribute('role') || '').toLowerCase();
    if (ROLES.has(r)) return true;
    if (el.hasAttribute('onclick') || typeof el.onclick === 'function') return true;
    const ti = el.getAttribute('tabindex');
    if (ti !== null && parseInt(ti, 10) >= 0) return true;
    if (el.isContentEditable && !(parentOf(el) && parentOf(el).isContentEditable)) return true;
    const cursor = getComputedStyle(el).cursor;
    if (cursor === 'pointer') {
      const p = parentOf(el);
      return !p || getComputedStyle(p).cursor !== 'pointer';
    }
    return false;
  }

  function isAtomic(el) {
    const tag = el.tagName;
    if (tag === 'A' || tag === 'BUTTON' || tag === 'SUMMARY') return true;
    return ATOMIC_ROLES.has((el.getAttribute('role') || '').toLowerCase());
  }

  function collect(root, out) {
    const all = root.querySelectorAll('*');
    for (let i = 0; i < all.length; i++) {
      const el = all[i];
      if (isCandidate(el)) out.push(el);
      if (el.shadowRoot) collect(el.shadowRoot, out);
      if (el.tagName === 'IFRAME') {
        let doc = null;
        try { doc = el.contentDocument; } catch (e) { doc = null; }
        if (doc && doc.documentElement) { watch(doc); collect(doc, out); }
      }
    }
  }

  function valueOf(el) {
    const tag = el.tagName;
    if (tag === 'INPUT') {
      const t = (el.type || '').toLowerCase();
      if (t === 'password') return { value: el.value ? '••••' : '', masked: true };
      if (t === 'checkbox' || t === 'radio' || t === 'submit' || t === 'button' || t === 'file') return { value: null, masked: false };
      return { value: el.value, masked: false };
    }
    if (tag === 'TEXTAREA') return { value: el.value, masked: false };
    if (tag === 'SELECT') { const o = el.options[el.selectedIndex]; return { value: o ? clean(o.text, 80) : '', masked: false }; }
    if (el.isContentEditable) return { value: clean(el.innerText, 200), masked: false };
    return { value: null, masked: false };
  }

  function describe(el, vis) {
    const v = valueOf(el);
    const form = el.form || (el.closest ? el.closest('form') : null);
    const tag = el.tagName; const type = (el.type || '').toLowerCase();
    return {
      tag: tag.toLowerCase(),
      role: role(el),
      name: name(el),
      type: tag === 'INPUT' || tag === 'BUTTON' ? type : '',
      value: v.value,
      masked: v.masked,
      checked: (type === 'checkbox' || type === 'radio') ? !!el.checked : (el.getAttribute('aria-checked') === 'true' ? true : null),
      href: tag === 'A' ? (el.href || '') : '',
      x: vis.box.l, y: vis.box.t, w: vis.box.r - vis.box.l, h: vis.box.b - vis.box.t,
      frame: vis.chain.path,
      shadow: el.getRootNode() instanceof ShadowRoot,
      submit: (tag === 'BUTTON' && type === 'submit' && !!form) || (tag === 'INPUT' && (type === 'submit' || type === 'image')),
      passwordForm: !!(form && form.querySelector('input[type=password]')),
      file: tag === 'INPUT' && type === 'file',
    };
  }

  // One observation: discover, filter, order, remember.
  api.observe = function (args) {
    watch(document);
    const found = [];
    collect(document, found);
    const set = new Set(found);
    const kept = [];
    for (const el of found) {
      // Nested duplicates: anything inside a link/button-like candidate is that candidate.
      let inside = false;
      for (let p = parentOf(el); p; p = parentOf(p)) { if (set.has(p) && isAtomic(p)) { inside = true; break; } }
      if (inside) continue;
      const vis = visibleRect(el);
      const w = vis.box.r - vis.box.l, h = vis.box.b - vis.box.t;
      if (w < 2 || h < 2 || w * h < 20) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) continue;
      const cx = (vis.box.l + vis.box.r) / 2, cy = (vis.box.t + vis.box.b) / 2;
      const hit = hitTest(cx, cy);
      if (!hit || !composedContains(el, hit)) continue;
      kept.push({ el: el, vis: vis });
    }
    // Top-to-bottom, then left-to-right: rows are elements whose tops lie within 6 px of the row's first top.
    kept.sort(function (a, b) { return a.vis.box.t - b.vis.box.t || a.vis.box.l - b.vis.box.l; });
    const ordered = [];
    for (let i = 0; i < kept.length; ) {
      let j = i + 1;
      while (j < kept.length && kept[j].vis.box.t - kept[i].vis.box.t < 6) j++;
      const row = kept.slice(i, j).sort(function (a, b) { return a.vis.box.l - b.vis.box.l; });
      for (const k of row) ordered.push(k);
      i = j;
    }
    api.current = { id: args.id, els: ordered.map(function (k) { return k.el; }), url: location.href };
    // Password fields are always masked. With secrets configured, every field with a value is listed with its box, and
    // the host masks those whose value holds a secret: by value, so a re-rendered or copied field is caught too.
    const masks = [];
    const fields = args.fields ? [] : null;
    (function findFields(root) {
      const all = root.querySelectorAll('*');
      for (let i = 0; i < all.length; i++) {
        const el = all[i];
        const tag = el.tagName;
        if (tag === 'INPUT' && (el.type || '').toLowerCase() === 'password') {
          const b = visibleRect(el).box;
          if (b.r - b.l > 0 && b.b - b.t > 0) masks.push({ x: b.l, y: b.t, w: b.r - b.l, h: b.b - b.t });
        } else if (fields) {
          const v = tag === 'INPUT' || tag === 'TEXTAREA' ? el.value
            : tag === 'SELECT' ? (el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : '')
            : (el.isContentEditable && !(parentOf(el) && parentOf(el).isContentEditable)) ? el.innerText : '';
          if (v) {
            const b = visibleRect(el).box;
            if (b.r - b.l > 0 && b.b - b.t > 0) fields.push({ x: b.l, y: b.t, w: b.r - b.l, h: b.b - b.t, value: String(v) });
          }
        }
        if (el.shadowRoot) findFields(el.shadowRoot);
        if (tag === 'IFRAME') { let d = null; try { d = el.contentDocument; } catch (e) { d = null; } if (d && d.documentElement) findFields(d); }
      }
    })(document);
    return {
      url: location.href, title: document.title, vw: window.innerWidth, vh: window.innerHeight,
      dpr: window.devicePixelRatio, scrollX: window.scrollX, scrollY: window.scrollY,
      elements: ordered.map(function (k) { return describe(k.el, k.vis); }), masks: masks, fields: fields || undefined,
    };
  };

  function target(args) {
    const cur = api.current;
    if (!cur || cur.id !== args.id) return { error: 'stale', why: 'a newer observation or a page load replaced it' };
    const el = cur.els[args.mark];
    if (!el) return { error: 'nomark', why: 'mark ' + args.mark + ' is not in this observation' };
    if (!el.isConnected) return { error: 'detached', why: 'the element was removed from the page' };
    return { el: el };
  }

  // Re-validation before an action: the element is still there, at its box, and its centre still reaches it.
  api.check = function (args) {
    const t = target(args); if (t.error) return t;
    const vis = visibleRect(t.el);
    const x = vis.box.l, y = vis.box.t, w = vis.box.r - vis.box.l, h = vis.box.b - vis.box.t;
    const cx = x + w / 2, cy = y + h / 2;
    const hit = w > 0 && h > 0 ? hitTest(cx, cy) : null;
    return { x: x, y: y, w: w, h: h, hits: !!hit && composedContains(t.el, hit), hitTag: hit ? hit.tagName.toLowerCase() : '',
      multiline: t.el.tagName === 'TEXTAREA' || !!t.el.isContentEditable };
  };

  function focusDescription() {
    let e = document.activeElement;
    for (let d = 0; d < 10 && e; d++) {
      if (e.shadowRoot && e.shadowRoot.activeElement) { e = e.shadowRoot.activeElement; continue; }
      if (e.tagName === 'IFRAME') { let doc = null; try { doc = e.contentDocument; } catch (x) { doc = null; } if (doc && doc.activeElement) { e = doc.activeElement; continue; } }
      break;
    }
    if (!e || e === document.body) return '';
    return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? '[name=' + e.name + ']' : '');
  }

  function focusedElement() {
    let e = document.activeElement;
    for (let d = 0; d < 10 && e; d++) {
      if (e.shadowRoot && e.shadowRoot.activeElement) { e = e.shadowRoot.activeElement; continue; }
      if (e.tagName === 'IFRAME') { let doc = null; try { doc = e.contentDocument; } catch (x) { doc = null; } if (doc && doc.activeElement) { e = doc.activeElement; continue; } }
      break;
    }
    return e;
  }

  // The names of the element that is about to act, read now (not from the observation): the mark's element, the element
  // under a point (climbing to the nearest interactive ancestor) and/or the focused element; every label a person could
  // read it by (accessible name, visible text, value of a button, title). With enter, also the names of the form's
  // submit controls and the form's own label and action, since Enter submits the form as its default button would.
  api.actor = function (args) {
    const els = [];
    if (args.id) { const t = target(args); if (t.error) return { names: [] }; els.push(t.el); }
    if (typeof args.x === 'number') {
      let h = hitTest(args.x, args.y);
      while (h && !isCandidate(h) && parentOf(h)) h = parentOf(h);
      if (h && h !== document.body && h !== document.documentElement) els.push(h);
    }
    if (args.focused) { const f = focusedElement(); if (f && f !== document.body && f !== document.documentElement) els.push(f); }
    const names = [];
    function add(s) { s = clean(s, 200); if (s) names.push(s); }
    for (const el of els) {
      const tag = el.tagName; const type = (el.type || '').toLowerCase();
      add(name(el)); add(el.getAttribute('aria-label')); add(el.title);
      if (tag !== 'INPUT' && tag !== 'TEXTAREA' && tag !== 'SELECT') add(el.innerText || el.textContent);
      if (tag === 'INPUT' && (type === 'submit' || type === 'button' || type === 'reset' || type === 'image')) { add(el.value); add(el.alt); }
      if (!args.enter || tag === 'TEXTAREA' || el.isContentEditable) continue;
      const form = el.form || (el.closest ? el.closest('form') : null);
      if (!form) continue;
      for (const c of Array.prototype.slice.call(form.elements)) {
        const t = (c.type || '').toLowerCase();
        if ((c.tagName === 'BUTTON' && (t === 'submit' || !c.getAttribute('type'))) || (c.tagName === 'INPUT' && (t === 'submit' || t === 'image'))) {
          add(name(c)); add(c.innerText || ''); add(c.tagName === 'INPUT' ? c.value : '');
        }
      }
      add([form.getAttribute('aria-label'), form.getAttribute('name'), form.id].filter(Boolean).join(' '));
    }
    return { names: names };
  };

  // Page state for effect reports; the target's value and checked state when a mark is given.
  api.state = function (args) {
    const s = { url: location.href, title: document.title, focus: focusDescription(), mutations: api.mutations, opened: api.opened, value: null, checked: null };
    if (args && args.id && api.current && api.current.id === args.id) {
      const el = api.current.els[args.mark];
      if (el && el.isConnected) {
        const v = valueOf(el); s.value = v.value;
        if ('checked' in el && (el.type === 'checkbox' || el.type === 'radio')) s.checked = !!el.checked;
        else if (el.getAttribute('aria-checked')) s.checked = el.getAttribute('aria-checked') === 'true';
      }
    }
    return s;
  };

  // Resolves once no mutation was seen for quietMs, or after capMs.
  api.quiet = function (args) {
    return new Promise(function (resolve) {
      const start = performance.now(); let last = api.mutations; let since = start;
      (function tick() {
        const now = performance.now();
        if (api.mutations !== last) { last = api.mutations; since = now; }
        if (now - since >= args.quietMs || now - start >= args.capMs) { resolve(Math.round(now - start)); return; }
        setTimeout(tick, 25);
      })();
    });
  };

  // Focuses the target and selects its content, so that typing replaces it.
  api.focusSelect = function (args) {
    const t = target(args); if (t.error) return t;
    const el = t.el; el.focus();
    if (typeof el.select === 'function') el.select();
    else if (el.isContentEditable) { const r = el.ownerDocument.createRange(); r.selectNodeContents(el); const s = el.ownerDocument.getSelection(); s.removeAllRanges(); s.addRange(r); }
    return { ok: true };
  };

  // Select an option by label: exact, then case-insensitive, then containment either way.
  api.select = function (args) {
    const t = target(args); if (t.error) return t;
    const el = t.el;
    if (el.tagName !== 'SELECT') return { error: 'notselect', why: 'mark ' + args.mark + ' is a ' + el.tagName.toLowerCase() + ', not a <select>' };
    const opts = Array.from(el.options);
    const want = clean(args.label, 200); const low = want.toLowerCase();
    let pick = opts.find(function (o) { return clean(o.text, 200) === want || o.value === want; })
      || opts.find(function (o) { return clean(o.text, 200).toLowerCase() === low; })
      || opts.find(function (o) { const x = clean(o.text, 200).toLowerCase(); return low && (x.includes(low) || low.includes(x)) && x; });
    if (!pick) return { error: 'nooption', why: 'no option like "' + want + '"; options are: ' + opts.map(function (o) { return clean(o.text, 40); }).join(', ') };
    el.focus();
    el.value = pick.value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return { ok: true, label: clean(pick.text, 80) };
  };

  // Scrolls the nearest scrollable ancestor of the target (or the target itself), else the window.
  api.scroll = function (args) {
    let el = null;
    if (args.id) { const t = target(args); if (t.error) return t; el = t.el; }
    for (let p = el; p; p = parentOf(p)) {
      const cs = getComputedStyle(p);
      if ((cs.overflowY === 'auto' || cs.overflowY === 'scroll') && p.scrollHeight > p.clientHeight) {
        // A container scrolls by 80 % of its own height, as the window does by 80 % of the viewport.
        const before = p.scrollTop; p.scrollBy(0, Math.sign(args.dy) * Math.max(1, Math.round(p.clientHeight * 0.8))); return { ok: true, moved: p.scrollTop - before, container: p.tagName.toLowerCase() };
      }
    }
    const win = el ? el.ownerDocument.defaultView : window;
    const before = win.scrollY; win.scrollBy(0, args.dy);
    return { ok: true, moved: win.scrollY - before, container: 'window' };
  };

  return api;
})();
