// Set-of-Mark element discovery, run in the page's top frame by WebSession. It walks the top document, open shadow
// roots and same-origin iframes (cross-origin frames are opaque to it and so never marked), keeps interactive elements
// whose centre hit-tests to themselves, numbers them top-to-bottom then left-to-right, and remembers the element
// objects for the observation id so that actions can re-validate them. Nothing in the page is mutated, but for the
// screenshot's preparation (prepareShot, as Playwright's own screenshot does it), which restoreShot undoes.
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

  function focusable(el) {
    const tag = el.tagName;
    if ((tag === 'A' || tag === 'AREA') && el.hasAttribute('href')) return true;
    if ((tag === 'BUTTON' || tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') && !el.disabled) return true;
    const ti = el.getAttribute('tabindex');
    return ti !== null && !isNaN(parseInt(ti, 10));
  }

  function role(el) {
    const explicit = (el.getAttribute('role') || '').trim().toLowerCase();
    // ARIA's conflict rule: a focusable element (a link, a control, tabindex) keeps its own role under presentation/none.
    if (explicit && !((explicit === 'presentation' || explicit === 'none') && focusable(el))) return explicit;
    // jQuery UI's slider handle (`<span tabindex=0 class="ui-slider-handle">`, an `<a href="#">` before 1.12) carries no
    // ARIA, yet it is the slider: it takes the keyboard and its position is the value.
    if (el.classList.contains('ui-slider-handle') && el.parentElement && el.parentElement.classList.contains('ui-slider')) return 'slider';
    const tag = el.tagName;
    if (tag === 'A') return 'link';
    if (tag === 'BUTTON' || tag === 'SUMMARY') return 'button';
    if (tag === 'SELECT') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
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

  // A slider that is not an <input>: { now, min, max, step, unit, vertical } or null. ARIA's aria-valuenow/min/max first;
  // a jQuery UI handle's value and options from the widget on its track (read only: jQuery UI's value getter); without
  // them, the handle's position along its track in percent (what jQuery UI writes as `left: P%` or `bottom: P%`).
  function sliderInfo(el) {
    const num = function (a) { const v = el.getAttribute(a); return v !== null && v.trim() !== '' && isFinite(+v) ? +v : null; };
    const track = el.classList.contains('ui-slider-handle') ? el.parentElement : null;
    const vertical = el.getAttribute('aria-orientation') === 'vertical' || !!(track && track.classList.contains('ui-slider-vertical'));
    const now = num('aria-valuenow');
    if (now !== null) return { now: now, min: num('aria-valuemin'), max: num('aria-valuemax'), step: null, unit: '', vertical: vertical };
    if (!track) return null;
    const win = el.ownerDocument.defaultView; const jq = win && win.jQuery;
    let inst = null; try { inst = jq && typeof jq.data === 'function' ? (jq.data(track, 'ui-slider') || jq.data(track, 'slider')) : null; } catch (e) { inst = null; }
    if (inst && inst.options && typeof inst.value === 'function') {
      const o = inst.options; const handles = track.querySelectorAll('.ui-slider-handle');
      const i = Array.prototype.indexOf.call(handles, el);
      const v = o.values && o.values.length && typeof inst.values === 'function' ? inst.values(Math.max(0, i)) : inst.value();
      if (isFinite(v)) return { now: +v, min: +o.min, max: +o.max, step: +o.step || 1, unit: '', vertical: vertical || o.orientation === 'vertical' };
    }
    const style = vertical ? el.style.bottom : el.style.left;
    let pct = /%$/.test(style || '') ? parseFloat(style) : NaN;
    if (!isFinite(pct)) {
      const t = track.getBoundingClientRect(), h = el.getBoundingClientRect();
      pct = vertical ? (t.bottom - (h.top + h.bottom) / 2) / (t.height || 1) * 100 : ((h.left + h.right) / 2 - t.left) / (t.width || 1) * 100;
    }
    return { now: Math.round(Math.max(0, Math.min(100, pct)) * 10) / 10, min: 0, max: 100, step: null, unit: '%', vertical: vertical };
  }

  function clean(s, max) {
    s = (s || '').replace(/\s+/g, ' ').trim();
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  function hiddenElement(e) {
    if (e.getAttribute('aria-hidden') === 'true') return true;
    const cs = getComputedStyle(e);
    return cs.display === 'none' || cs.visibility === 'hidden';
  }

  // Text of a subtree as a name from content: text nodes, alt of images, <title> of SVGs, aria-label of descendants in
  // place of their content; hidden parts, nested controls (skip) and the labelled control itself (except) left out.
  function textOf(root, skip, except, budget) {
    let out = '';
    (function walk(n) {
      for (let c = n.firstChild; c && out.length < budget; c = c.nextSibling) {
        if (c.nodeType === 3) { out += c.data; continue; }
        if (c.nodeType !== 1 || c === except || (skip && skip.has(c))) continue;
        const tag = c.tagName;
        if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'TEMPLATE' || tag === 'NOSCRIPT' || tag === 'SELECT' || tag === 'TEXTAREA') continue;
        if (tag.toLowerCase() === 'svg') {
          const label = c.getAttribute('aria-label'); const t = c.querySelector('title');
          out += ' ' + (label || (t ? t.textContent : '')) + ' ';
          continue;
        }
        if (hiddenElement(c)) continue;
        const aria = c.getAttribute('aria-label');
        if (aria) { out += ' ' + aria + ' '; continue; }
        if (tag === 'IMG' || tag === 'AREA') { out += ' ' + (c.getAttribute('alt') || c.getAttribute('title') || '') + ' '; continue; }
        if (tag === 'INPUT') { const t = (c.type || '').toLowerCase(); if (t === 'submit' || t === 'button' || t === 'reset') out += ' ' + c.value + ' '; continue; }
        out += ' '; walk(c); out += ' ';
        if (c.shadowRoot) walk(c.shadowRoot);
      }
    })(root);
    return out;
  }

  const CONTENT_ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'tab', 'menuitem', 'menuitemcheckbox', 'menuitemradio',
    'option', 'switch', 'treeitem', 'generic', 'cell', 'gridcell', 'row', 'heading', 'tooltip']);

  // Fallback for a control nothing names: the nearest text before it (after it, for checkboxes and radios, whose label
  // conventionally follows), within 150 px and not inside another control. Flagged as a guess.
  function nearbyText(el, forward, box, skip) {
    const root = el.getRootNode();
    const doc = el.ownerDocument;
    const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    walker.currentNode = el;
    if (forward) {
      // Past the element's own subtree first.
      let last = el; while (last.lastChild) last = last.lastChild; walker.currentNode = last;
    }
    for (let i = 0; i < 25; i++) {
      const t = forward ? walker.nextNode() : walker.previousNode();
      if (!t) return '';
      const s = clean(t.data, 60);
      if (!s) continue;
      const p = t.parentElement;
      if (!p || p.closest('script,style,select,textarea,button,a[href],noscript') || (skip && p.closest('[role]') && skip.has(p.closest('[role]')))) continue;
      if (hiddenElement(p)) continue;
      const range = doc.createRange(); range.selectNodeContents(t);
      const r = range.getBoundingClientRect();
      const dx = Math.max(0, r.left - box.r, box.l - r.right), dy = Math.max(0, r.top - box.b, box.t - r.bottom);
      if (dx > 150 || dy > 150) return '';
      return s;
    }
    return '';
  }

  // The accessible name as browsers compute it (accname 1.2, simplified): aria-labelledby, aria-label, the control's
  // labels (for= and wrapping), alt / button value, name from content for roles that allow it, title, placeholder;
  // then a flagged guess from nearby text. Returns { name, from }.
  function accName(el, skip) {
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const root = el.getRootNode();
      const parts = by.split(/\s+/).map(function (id) {
        const n = id && root.getElementById ? root.getElementById(id) : null;
        return n ? (clean(textOf(n, null, el, 200), 200) || n.textContent) : '';
      });
      const t = clean(parts.join(' '), 80); if (t) return { name: t, from: 'labelledby' };
    }
    const aria = clean(el.getAttribute('aria-label'), 80);
    if (aria) return { name: aria, from: 'aria-label' };
    const tag = el.tagName; const type = (el.type || '').toLowerCase();
    if (tag === 'INPUT' && (type === 'submit' || type === 'button' || type === 'reset')) {
      const v = clean(el.value, 80) || (type === 'submit' ? 'Submit' : type === 'reset' ? 'Reset' : '');
      if (v) return { name: v, from: 'value' };
    }
    if (tag === 'INPUT' && type === 'image') { const a = clean(el.alt, 80); if (a) return { name: a, from: 'alt' }; }
    if (tag === 'IMG') { const a = clean(el.alt, 80); if (a) return { name: a, from: 'alt' }; }
    const field = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || tag === 'METER' || tag === 'PROGRESS' || tag === 'OUTPUT';
    if (field && el.labels && el.labels.length) {
      const t = clean(Array.prototype.map.call(el.labels, function (l) { return textOf(l, null, el, 200); }).join(' '), 80);
      if (t) return { name: t, from: 'label' };
    }
    const title = clean(el.getAttribute('title'), 80);
    if (!field && CONTENT_ROLES.has(role(el))) {
      const t = clean(textOf(el, skip, null, 200), 80);
      // An icon glyph (☆, 🗑, ▲) says less than the element's title: the title names it, as a tooltip does for a person.
      if (t && (!title || /[\p{L}\p{N}]/u.test(t))) return { name: t, from: 'content' };
    }
    if (title) return { name: title, from: 'title' };
    const ph = clean(el.getAttribute('placeholder') || el.getAttribute('aria-placeholder'), 80);
    if (ph) return { name: ph, from: 'placeholder' };
    return { name: '', from: '' };
  }

  function name(el) { return accName(el, null).name; }

  // Last resort for a control nothing names (an icon drawn by CSS: trash, star, reply): the words of its id or classes,
  // as a developer named it ("send-forward" → "send forward"). Framework and layout words say nothing and are dropped.
  const HINT_NOISE = /^(ui|js|icon|icons|ico|fa|fas|far|fab|glyphicon|material|btn|button|clickable|pointer|active|hover|focus|selected|hide|hidden|show|open|closed|left|right|top|bottom|pull|float|col|row|flex|grid|d|m|p|mt|mb|ml|mr|px|py|sm|md|lg|xl|xs|state|default|widget|content|corner|all|helper|clearfix|el|item|wrapper|container|inner|outer)$/;
  function attributeHint(el) {
    const words = [];
    const add = function (s) {
      for (const w of String(s || '').split(/[\s_\-]+|(?=[A-Z][a-z])/)) {
        const lw = w.toLowerCase();
        if (lw.length > 1 && !/\d/.test(lw) && !HINT_NOISE.test(lw) && words.indexOf(lw) < 0) words.push(lw);
      }
    };
    add(el.id);
    if (typeof el.className === 'string') add(el.className);
    return clean(words.slice(0, 4).join(' '), 40);
  }

  // Selectors of same-origin style rules that set cursor: pointer (":hover" dropped: it is the pointer's state, not the
  // element's), so a clickable child whose own rule makes it a pointer can be told from one that merely inherits it; and
  // of rules that restyle an element under the pointer (`.card:hover`, `tr:hover td` → `.card`, `tr`): feedback a page
  // gives on what it means to be clicked, used as a hint for items whose click is delegated to their container.
  function styleSelectors(doc) {
    const pointer = [], hover = [];
    function rules(list) {
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        if (r.cssRules && !r.selectorText) { try { rules(r.cssRules); } catch (e) { /* unreadable */ } continue; }
        if (!r.style || !r.selectorText) continue;
        const isPointer = r.style.cursor === 'pointer';
        for (const sel of r.selectorText.split(',')) {
          if (sel.indexOf('::') >= 0) continue;
          if (isPointer) { const plain = sel.replace(/:hover/g, '').trim(); if (plain) pointer.push(plain); }
          // The hovered element is the compound that carries :hover; what follows it is styled, not hovered.
          const m = /^(.*?):hover([^\s>+~]*)/.exec(sel);
          if (m) { const h = (m[1] + m[2]).replace(/:hover/g, '').trim(); if (h && !/[\s>+~]$/.test(h)) hover.push(h); }
        }
      }
    }
    for (const sheet of Array.prototype.slice.call(doc.styleSheets)) {
      let list = null; try { list = sheet.cssRules; } catch (e) { list = null; } // cross-origin sheets are opaque
      if (list) rules(list);
    }
    const valid = function (list) {
      const ok = list.filter(function (sel) { try { doc.documentElement.matches(sel); return true; } catch (e) { return false; } });
      return ok.length ? ok.join(',') : '';
    };
    return { pointer: valid(pointer), hover: valid(hover) };
  }

  // Style selectors per document, kept across observations while its style sheets (and their rule counts) stay the same.
  const styleCache = new WeakMap();
  function stylesOf(doc, ctx) {
    let sel = ctx.styles.get(doc);
    if (sel === undefined) {
      let key = '';
      for (const sheet of Array.prototype.slice.call(doc.styleSheets)) { let n = -1; try { n = sheet.cssRules.length; } catch (e) { n = -1; } key += n + ','; }
      const cached = styleCache.get(doc);
      if (cached && cached.key === key) sel = cached.sel;
      else { sel = styleSelectors(doc); styleCache.set(doc, { key: key, sel: sel }); }
      ctx.styles.set(doc, sel);
    }
    return sel;
  }

  function explicitPointer(el, ctx) {
    if (el.style && el.style.cursor === 'pointer') return true;
    const sel = stylesOf(el.ownerDocument, ctx).pointer;
    return !!sel && el.matches(sel);
  }

  function hoverStyled(el, ctx) {
    const sel = stylesOf(el.ownerDocument, ctx).hover;
    return !!sel && el.matches(sel);
  }

  function hookHandles(el) {
    const hooks = el.ownerDocument.defaultView && el.ownerDocument.defaultView.__magmaHooks;
    return !!(hooks && hooks.handles(el));
  }

  // Elements matched by jQuery's delegated handlers on a host (jQuery keeps their selectors): the document and body
  // (`$(document).on('click', '.item', fn)`), and any element with a recorded listener (`$('#grid').on('click', '.card', fn)`).
  const JQ_TYPES = ['click', 'mousedown', 'mouseup', 'dblclick', 'mouseover', 'mouseenter'];
  function jqDelegatedTo(host, out) {
    const doc = host.ownerDocument || host;
    const win = doc.defaultView; const jq = win && win.jQuery;
    if (!jq || typeof jq._data !== 'function') return;
    let events = null; try { events = jq._data(host, 'events'); } catch (e) { events = null; }
    if (!events) return;
    for (const type of JQ_TYPES) {
      for (const h of events[type] || []) {
        if (!h.selector) continue;
        try { host.querySelectorAll(h.selector).forEach(function (e) { out.add(e); }); } catch (e) { /* jQuery-only selector */ }
      }
    }
  }

  function delegated(doc) {
    const out = new Set();
    for (const host of [doc, doc.body]) if (host) jqDelegatedTo(host, out);
    return out;
  }

  // A signal of the element's own, not one it inherits: a native control, an interactive role, a handler, a link.
  function strongSignal(el, ctx) {
    const tag = el.tagName;
    if (tag === 'A' && el.hasAttribute('href')) return true;
    if (tag === 'BUTTON' || tag === 'SELECT' || tag === 'TEXTAREA' || tag === 'SUMMARY' || tag === 'INPUT') return true;
    if (ROLES.has((el.getAttribute('role') || '').toLowerCase())) return true;
    if (el.hasAttribute('onclick') || typeof el.onclick === 'function' || el.hasAttribute('ondblclick') || el.hasAttribute('onmouseover')) return true;
    if (el.getAttribute('draggable') === 'true') return true;
    if (ctx.delegated.has(el)) return true;
    return tag !== 'BODY' && tag !== 'HTML' && hookHandles(el) && !ctx.tooBig(el);
  }

  // An item whose pointer or drag listener sits on its container (addEventListener on the container, as sortable lists
  // and hand-written delegation do): the items are the targets, though none has a handler of its own. The container is
  // the nearest listening ancestor within three levels, never the body or the root (a listener there is the page's own
  // and would make everything an item). Items are
  // - a list's items (li, tr, roles listitem/option/row/treeitem/menuitem/gridcell) when the list is their parent or
  //   grandparent;
  // - otherwise the shallowest repeated children below the container (two or more siblings of the same tag and first
  //   class, with no repeated ancestor below the container: a table's body rows in a listening div, a grid's cards, a
  //   toolbar's tools, not the cells inside them), and only those that hint they are targets: a table row, a data-*
  //   attribute (what the handler reads to know which item was hit), a :hover style or a pointer cursor.
  const ITEM_ROLES = new Set(['listitem', 'option', 'row', 'treeitem', 'menuitem', 'gridcell']);
  function delegatedItem(el, ctx) {
    let host = null, depth = 0;
    for (let q = parentOf(el), d = 1; q && d <= 3; q = parentOf(q), d++) {
      if (q.tagName === 'BODY' || q.tagName === 'HTML') return false;
      if (hookHandles(q)) { host = q; depth = d; break; }
    }
    if (!host) return false;
    const tag = el.tagName;
    if (depth <= 2 && (tag === 'LI' || tag === 'TR' || ITEM_ROLES.has((el.getAttribute('role') || '').toLowerCase()))) { ctx.hosts.add(host); return true; }
    if (!repeated(el, ctx) || rootLike(host, ctx)) return false;
    for (let q = parentOf(el); q && q !== host; q = parentOf(q)) if (repeated(q, ctx)) return false;
    let hint = tag === 'TR';
    for (let i = 0; !hint && i < el.attributes.length; i++) hint = el.attributes[i].name.startsWith('data-');
    if (!hint && !hoverStyled(el, ctx) && getComputedStyle(el).cursor !== 'pointer') return false;
    ctx.hosts.add(host);
    return true;
  }

  // A container that holds the whole page (body > #root, as frameworks mount their apps and put their one listener
  // per event type): like the body, its listener says nothing about which of its descendants are targets.
  const PAGE_CHROME = /^(SCRIPT|STYLE|LINK|NOSCRIPT|TEMPLATE|META)$/;
  function rootLike(el, ctx) {
    let r = ctx.roots.get(el);
    if (r === undefined) {
      const p = el.parentNode;
      if (!p || p.nodeType !== 1) r = false;
      else if (el.tagName === 'BODY' || el.tagName === 'HTML') r = true;
      else {
        r = true;
        for (let c = p.firstElementChild; c && r; c = c.nextElementSibling) if (c !== el && !PAGE_CHROME.test(c.tagName)) r = false;
        r = r && rootLike(p, ctx);
      }
      ctx.roots.set(el, r);
    }
    return r;
  }

  // Whether an element is one of two or more siblings of the same tag and first class (counts cached per parent).
  function signature(el) { const c = typeof el.className === 'string' ? el.className.trim().split(/\s+/)[0] : ''; return el.tagName + '.' + c; }
  function repeated(el, ctx) {
    const p = el.parentNode; if (!p) return false;
    let counts = ctx.repeats.get(p);
    if (!counts) {
      counts = new Map();
      for (let c = p.firstElementChild; c; c = c.nextElementSibling) { const k = signature(c); counts.set(k, (counts.get(k) || 0) + 1); }
      ctx.repeats.set(p, counts);
    }
    return (counts.get(signature(el)) || 0) >= 2;
  }

  function isCandidate(el, ctx) {
    const tag = el.tagName;
    if (tag === 'INPUT') return (el.type || '').toLowerCase() !== 'hidden';
    if (strongSignal(el, ctx)) return true;
    if (delegatedItem(el, ctx)) return true;
    const ti = el.getAttribute('tabindex');
    if (ti !== null && parseInt(ti, 10) >= 0) return true;
    if (el.isContentEditable && !(parentOf(el) && parentOf(el).isContentEditable)) return true;
    const cursor = getComputedStyle(el).cursor;
    if (cursor === 'pointer') {
      const p = parentOf(el);
      // The cursor is inherited: a pointer child of a pointer parent is a target of its own only when its own rule says so.
      return !p || getComputedStyle(p).cursor !== 'pointer' || explicitPointer(el, ctx);
    }
    return false;
  }

  function isAtomic(el) {
    const tag = el.tagName;
    if (tag === 'A' || tag === 'BUTTON' || tag === 'SUMMARY') return true;
    return ATOMIC_ROLES.has((el.getAttribute('role') || '').toLowerCase());
  }

  function collect(root, out, ctx) {
    const all = root.querySelectorAll('*');
    for (let i = 0; i < all.length; i++) {
      const el = all[i];
      // A listening element's jQuery-delegated targets, before its descendants are visited (document order).
      if (hookHandles(el)) jqDelegatedTo(el, ctx.delegated);
      if (isCandidate(el, ctx)) out.push(el);
      if (el.shadowRoot) collect(el.shadowRoot, out, ctx);
      if (el.tagName === 'IFRAME') {
        let doc = null;
        try { doc = el.contentDocument; } catch (e) { doc = null; }
        if (doc && doc.documentElement) {
          watch(doc);
          delegated(doc).forEach(function (e) { ctx.delegated.add(e); });
          collect(doc, out, ctx);
        }
      }
    }
  }

  function valueOf(el) {
    const tag = el.tagName;
    if (tag === 'INPUT') {
      const t = (el.type || '').toLowerCase();
      if (t === 'password') return { value: el.value ? '••••' : '', masked: true };
      if (t === 'checkbox' || t === 'radio' || t === 'submit' || t === 'button' || t === 'reset' || t === 'image' || t === 'file') return { value: null, masked: false };
      return { value: el.value, masked: false };
    }
    if (tag === 'TEXTAREA') return { value: el.value, masked: false };
    if (tag === 'SELECT') {
      const chosen = Array.prototype.filter.call(el.options, function (o) { return o.selected; }).map(function (o) { return clean(o.text, 80); });
      return { value: el.multiple ? clean(chosen.join(', '), 200) : (chosen[0] || ''), masked: false };
    }
    if (el.isContentEditable) return { value: clean(el.innerText, 200), masked: false };
    if (role(el) === 'slider') {
      const text = el.getAttribute('aria-valuetext');
      if (text) return { value: clean(text, 80), masked: false };
      const info = sliderInfo(el);
      return { value: info ? String(info.now) + info.unit : null, masked: false };
    }
    return { value: null, masked: false };
  }

  // Compact state words: what a person sees at a glance that the role and name do not say.
  function statesOf(el) {
    const s = [];
    const tag = el.tagName; const r = role(el); const type = (el.type || '').toLowerCase();
    if (el.disabled || el.getAttribute('aria-disabled') === 'true' || (el.matches && el.matches(':disabled'))) s.push('disabled');
    const exp = el.getAttribute('aria-expanded');
    if (exp === 'true') s.push('expanded'); else if (exp === 'false') s.push('collapsed');
    else if (tag === 'SUMMARY' && el.parentElement && el.parentElement.tagName === 'DETAILS') s.push(el.parentElement.open ? 'expanded' : 'collapsed');
    else if (r === 'treeitem') s.push(el.querySelector('[role=group]') ? 'expanded' : 'leaf');
    if (el.getAttribute('aria-checked') === 'mixed' || (type === 'checkbox' && el.indeterminate)) s.push('mixed');
    if (el.getAttribute('aria-pressed') === 'true') s.push('pressed');
    if (el.getAttribute('aria-selected') === 'true' || (tag === 'OPTION' && el.selected)) s.push('selected');
    const cur = el.getAttribute('aria-current');
    if (cur && cur !== 'false') s.push('current');
    const pop = el.getAttribute('aria-haspopup');
    if (pop && pop !== 'false') s.push('has popup');
    if (tag === 'TEXTAREA' || el.getAttribute('aria-multiline') === 'true') s.push('multiline');
    if (tag === 'SELECT' && el.multiple) s.push('multiselectable');
    if (el.readOnly) s.push('readonly');
    if (el.required || el.getAttribute('aria-required') === 'true') s.push('required');
    if (tag === 'INPUT' && (type === 'range' || type === 'number' || type === 'date' || type === 'time' || type === 'month' || type === 'week' || type === 'datetime-local')) {
      if (el.min) s.push('min=' + el.min);
      if (el.max) s.push('max=' + el.max);
      if (type === 'range' && el.step && el.step !== '1') s.push('step=' + el.step);
    } else if (r === 'slider') {
      const info = sliderInfo(el);
      if (info && info.unit === '' && info.min !== null) s.push('min=' + info.min);
      if (info && info.unit === '' && info.max !== null) s.push('max=' + info.max);
      if (info && info.step !== null && info.step !== 1) s.push('step=' + info.step);
      if (info && info.vertical) s.push('vertical');
    }
    return s;
  }

  function optionsOf(el) {
    if (el.tagName !== 'SELECT') return null;
    const out = [];
    for (let i = 0; i < el.options.length && i < 40; i++) out.push({ text: clean(el.options[i].text, 40), selected: !!el.options[i].selected });
    return out;
  }

  function describe(el, vis, ctx) {
    const v = valueOf(el);
    const form = el.form || (el.closest ? el.closest('form') : null);
    const tag = el.tagName; const type = (el.type || '').toLowerCase();
    let n = accName(el, ctx.kept);
    if (!n.name && (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || role(el) !== 'generic')) {
      const near = nearbyText(el, type === 'checkbox' || type === 'radio', vis.local, ctx.kept);
      n = near ? { name: near, from: 'nearby' } : (el.getAttribute('name') ? { name: clean(el.getAttribute('name'), 80), from: 'attribute' } : n);
    }
    if (!n.name) { const hint = attributeHint(el); if (hint) n = { name: hint, from: 'attribute' }; }
    return {
      tag: tag.toLowerCase(),
      role: role(el),
      name: n.name,
      nameFrom: n.from,
      type: tag === 'INPUT' || tag === 'BUTTON' ? type : '',
      value: v.value,
      masked: v.masked,
      checked: (type === 'checkbox' || type === 'radio') ? !!el.checked : (el.getAttribute('aria-checked') === 'true' ? true : el.getAttribute('aria-checked') === 'false' ? false : null),
      states: statesOf(el),
      options: optionsOf(el),
      href: tag === 'A' ? (el.href || '') : '',
      x: vis.box.l, y: vis.box.t, w: vis.box.r - vis.box.l, h: vis.box.b - vis.box.t,
      px: vis.box.l + vis.fx * (vis.box.r - vis.box.l), py: vis.box.t + vis.fy * (vis.box.b - vis.box.t),
      frame: vis.chain.path,
      shadow: el.getRootNode() instanceof ShadowRoot,
      submit: (tag === 'BUTTON' && type === 'submit' && !!form) || (tag === 'INPUT' && (type === 'submit' || type === 'image')),
      passwordForm: !!(form && form.querySelector('input[type=password]')),
      file: tag === 'INPUT' && type === 'file',
    };
  }

  // The part of an element that is its own: when marked controls sit inside it (an expanded folder's files), its box is
  // the union of its other content (text, icons), so it neither swallows nor hit-tests onto its children. Null when the
  // element holds no nested mark (its box is its own) or nothing but nested marks.
  function ownRect(el, nested) {
    let l = Infinity, t = Infinity, r = -Infinity, b = -Infinity; let any = false;
    // Elements between el and a nested mark: walked into rather than measured whole.
    const between = new Set();
    for (const d of nested) { for (let p = parentOf(d); p && p !== el && !between.has(p); p = parentOf(p)) between.add(p); }
    function addRect(x) { if (x.width > 0 && x.height > 0) { l = Math.min(l, x.left); t = Math.min(t, x.top); r = Math.max(r, x.right); b = Math.max(b, x.bottom); any = true; } }
    (function walk(n) {
      for (let c = n.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) {
          if (!c.data.trim()) continue;
          const range = c.ownerDocument.createRange(); range.selectNodeContents(c); addRect(range.getBoundingClientRect());
        } else if (c.nodeType === 1) {
          if (nested.has(c)) continue;
          if (between.has(c)) walk(c); else addRect(c.getBoundingClientRect());
        }
      }
    })(el);
    return any ? { l: l, t: t, r: r, b: b } : null;
  }

  // Where a mark can be clicked: its centre, else (part of it covered) other points of its box, as fractions.
  const SAMPLES = [[0.5, 0.5], [0.25, 0.5], [0.75, 0.5], [0.5, 0.25], [0.5, 0.75], [0.15, 0.15], [0.85, 0.15], [0.15, 0.85], [0.85, 0.85]];

  // The candidate a hit belongs to: the nearest candidate at or above it.
  function owner(hit, set) {
    for (let n = hit; n; n = n.parentNode ? (n.parentNode.nodeType === 11 ? n.parentNode.host : n.parentNode) : null) {
      if (set.has(n)) return n;
      if (n.tagName === 'HTML') {
        const fe = n.ownerDocument.defaultView && n.ownerDocument.defaultView.frameElement;
        if (!fe) return null;
        n = fe; if (set.has(n)) return n;
      }
    }
    return null;
  }

  // The box a mark uses (its own part when it holds nested marks), clipped like visibleRect, in top-frame CSS px.
  function markRect(el, nested) {
    const vis = visibleRect(el);
    if (nested && nested.size) {
      const own = ownRect(el, nested);
      if (own) {
        const c = vis.chain;
        const ob = { l: own.l + c.x, t: own.t + c.y, r: own.r + c.x, b: own.b + c.y };
        // The clip visibleRect applied is the ratio of its box to the full box; apply the same clip to the own part.
        vis.box = intersect(ob, vis.box);
        vis.local = own;
        return vis;
      }
      vis.onlyNested = true;
    }
    const r = el.getBoundingClientRect();
    vis.local = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    return vis;
  }

  function sample(el, box, set) {
    const w = box.r - box.l, h = box.b - box.t;
    for (const f of SAMPLES) {
      const hit = hitTest(box.l + f[0] * w, box.t + f[1] * h);
      if (hit && owner(hit, set) === el) return f;
    }
    return null;
  }

  // The page's visible text, as a person reads it off the screen: text runs (text nodes, and the values of read-only
  // displays are not included) with their boxes in top-frame CSS px, in document order, through same-origin frames and
  // open shadow roots. A run counts when its box lies in the viewport, no ancestor hides it and its centre is not
  // covered by another element (a dialog over the page hides the text under it). Capped, so a long page costs little.
  const TEXT_MAX = 400, TEXT_LEN = 160;
  function visibleTexts() {
    const out = []; const vw = window.innerWidth, vh = window.innerHeight;
    const hidden = new Map();
    function isHidden(el) {
      let h = hidden.get(el);
      if (h === undefined) {
        const cs = getComputedStyle(el);
        h = cs.display === 'none' || cs.visibility !== 'visible' || parseFloat(cs.opacity) === 0 || el.getAttribute('aria-hidden') === 'true';
        if (!h && parentOf(el) && el.tagName !== 'BODY') h = isHidden(parentOf(el));
        hidden.set(el, h);
      }
      return h;
    }
    (function walk(root) {
      const doc = root.ownerDocument || root;
      const w = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
      let chain = null;
      for (let n = w.nextNode(); n && out.length < TEXT_MAX; n = w.nextNode()) {
        if (n.nodeType === 1) {
          if (n.shadowRoot) walk(n.shadowRoot);
          // An image's alt text is what a reader of the page learns from it (the icons of a menu's dietary types).
          if (n.tagName === 'IMG' && n.getAttribute('alt')) {
            const alt = clean(n.getAttribute('alt'), TEXT_LEN); const b = visibleRect(n).box;
            if (alt && b.r - b.l >= 1 && b.b - b.t >= 1 && !isHidden(n)) out.push({ text: alt, x: b.l, y: b.t, w: b.r - b.l, h: b.b - b.t, image: true });
          }
          if (n.tagName === 'IFRAME') { let d = null; try { d = n.contentDocument; } catch (e) { d = null; } if (d && d.body) walk(d.body); }
          continue;
        }
        const t = clean(n.data, TEXT_LEN); if (!t) continue;
        const p = n.parentElement;
        if (!p || /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE|TEXTAREA|OPTION|SELECT|TITLE)$/.test(p.tagName)) continue;
        const range = doc.createRange(); range.selectNodeContents(n);
        const r = range.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) continue;
        if (!chain) chain = frameChain(p);
        const box = { l: r.left + chain.x, t: r.top + chain.y, r: r.right + chain.x, b: r.bottom + chain.y };
        if (box.r <= 0 || box.b <= 0 || box.l >= vw || box.t >= vh) continue;
        if (isHidden(p)) continue;
        const clip = intersect(box, visibleRect(p).box);
        if (clip.r - clip.l < 1 || clip.b - clip.t < 1) continue;
        const hit = hitTest((clip.l + clip.r) / 2, (clip.t + clip.b) / 2);
        if (hit && !composedContains(p, hit) && !composedContains(hit, p)) continue;
        out.push({ text: t, x: clip.l, y: clip.t, w: clip.r - clip.l, h: clip.b - clip.t });
      }
    })(document.body || document.documentElement);
    return out;
  }

  // What tells apart marks that share a role and a name (an "Edit" button on every table row, "Add to basket" on every
  // product card): for each, its lowest ancestor (6 levels at most) that holds no other mark of that role and name and
  // has visible text outside every mark; that ancestor's first such text run (the row's first cell, the card's title)
  // unlike the mark's own name (a wrapping label), 40 characters at most. Stops at the first ancestor holding a twin.
  const CONTEXT_LEVELS = 6, CONTEXT_LEN = 40;
  function contextText(root, marks, own) {
    let seen = 0;
    return (function walk(n) {
      for (let c = n.firstChild; c && seen < 400; c = c.nextSibling) {
        seen++;
        if (c.nodeType === 3) {
          const t = clean(c.data, CONTEXT_LEN);
          if (!t || t.toLowerCase() === own) continue;
          const range = c.ownerDocument.createRange(); range.selectNodeContents(c);
          const r = range.getBoundingClientRect();
          if (r.width >= 1 && r.height >= 1) return t;
          continue;
        }
        if (c.nodeType !== 1 || marks.has(c)) continue;
        if (/^(SCRIPT|STYLE|TEMPLATE|NOSCRIPT|SELECT|TEXTAREA|OPTION|TITLE)$/.test(c.tagName) || hiddenElement(c)) continue;
        const inner = walk(c) || (c.shadowRoot ? walk(c.shadowRoot) : '');
        if (inner) return inner;
      }
      return '';
    })(root);
  }

  function addContexts(ordered, descs) {
    const groups = new Map();
    descs.forEach(function (d, i) {
      const key = d.role + '\u0000' + d.name;
      const g = groups.get(key); if (g) g.push(i); else groups.set(key, [i]);
    });
    const marks = new Set(ordered.map(function (k) { return k.el; }));
    groups.forEach(function (g) {
      if (g.length < 2) return;
      for (const i of g) {
        const el = ordered[i].el; const own = descs[i].name.toLowerCase();
        let a = parentOf(el);
        for (let level = 0; a && level < CONTEXT_LEVELS; level++, a = parentOf(a)) {
          if (g.some(function (j) { return j !== i && composedContains(a, ordered[j].el); })) break;
          const t = contextText(a, marks, own);
          if (t) { descs[i].context = t; break; }
        }
      }
    });
    return descs;
  }

  // Per-call caches of discovery.
  function makeContext() {
    const area = window.innerWidth * window.innerHeight;
    return {
      styles: new Map(), delegated: delegated(document), kept: null, repeats: new Map(), roots: new Map(), hosts: new Set(),
      // A listener on a page-sized container is event delegation, not a control.
      tooBig: function (el) { const r = el.getBoundingClientRect(); return r.width * r.height > 0.25 * area; },
    };
  }

  // One observation: discover, filter, order, remember.
  api.observe = function (args) {
    watch(document);
    const ctx = makeContext();
    const found = [];
    collect(document, found, ctx);
    const set = new Set(found);
    // Inside a link/button-like candidate, only elements with a signal of their own (a role, a handler, a link) are marks
    // of their own; the rest (icons, text spans) are that candidate.
    const survivors = [];
    for (const el of found) {
      let inside = false;
      for (let p = parentOf(el); p; p = parentOf(p)) { if (set.has(p) && isAtomic(p)) { inside = true; break; } }
      if (!inside || strongSignal(el, ctx)) survivors.push(el);
    }
    const sset = new Set(survivors);
    const nested = new Map();
    for (const el of survivors) {
      for (let p = parentOf(el); p; p = parentOf(p)) {
        if (sset.has(p)) { let n = nested.get(p); if (!n) { n = new Set(); nested.set(p, n); } n.add(el); }
      }
    }
    let kept = [];
    for (const el of survivors) {
      // Outside its frame's viewport (every frame clips to its own), or without a box: not visible, and cheap to tell
      // before the clipping walk up its ancestors (a long list or table has hundreds of items out of view).
      const r0 = el.getBoundingClientRect(); const win0 = el.ownerDocument.defaultView;
      if (r0.bottom <= 0 || r0.right <= 0 || r0.top >= win0.innerHeight || r0.left >= win0.innerWidth || (r0.width === 0 && r0.height === 0)) continue;
      const inner = nested.get(el) || null;
      const vis = markRect(el, inner);
      // A wrapper whose whole content is other marks (a clickable bar around "Reply" and "Forward", whose handler only
      // delegates to them) is not a target of its own; a native control or an element with an interactive role still is.
      // Likewise a container whose listener serves its delegated items (a listening table wrapper, toolbar, grid) and
      // that does not look clickable itself (a folder row with a pointer cursor around its files still does).
      if ((vis.onlyNested || (ctx.hosts.has(el) && getComputedStyle(el).cursor !== 'pointer')) && !isAtomic(el)
        && !ROLES.has((el.getAttribute('role') || '').toLowerCase()) && !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) continue;
      const w = vis.box.r - vis.box.l, h = vis.box.b - vis.box.t;
      if (w < 2 || h < 2 || w * h < 20) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) continue;
      const f = sample(el, vis.box, sset);
      if (!f) continue;
      vis.fx = f[0]; vis.fy = f[1];
      kept.push({ el: el, vis: vis, nested: inner });
    }
    // Identical boxes are one target (a menu item and the link filling it): keep the one with a role or native
    // semantics, else the outer one.
    const byBox = new Map();
    const strong = function (el) { return isAtomic(el) || ROLES.has((el.getAttribute('role') || '').toLowerCase()) || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName); };
    for (const k of kept) {
      const b = k.vis.box;
      const key = Math.round(b.l) + ',' + Math.round(b.t) + ',' + Math.round(b.r) + ',' + Math.round(b.b);
      const prev = byBox.get(key);
      if (!prev || (strong(k.el) && !strong(prev.el))) byBox.set(key, k);
    }
    kept = kept.filter(function (k) { const b = k.vis.box; return byBox.get(Math.round(b.l) + ',' + Math.round(b.t) + ',' + Math.round(b.r) + ',' + Math.round(b.b)) === k; });
    ctx.kept = new Set(kept.map(function (k) { return k.el; }));
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
    api.current = { id: args.id, els: ordered.map(function (k) { return k.el; }), url: location.href,
      meta: ordered.map(function (k) { return { nested: k.nested, fx: k.vis.fx, fy: k.vis.fy }; }) };
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
      elements: addContexts(ordered, ordered.map(function (k) { return describe(k.el, k.vis, ctx); })), masks: masks, fields: fields || undefined,
      texts: args.texts ? visibleTexts() : undefined,
      // Last, after everything above was read: the page as Playwright's screenshot would prepare it (api.prepareShot).
      shot: args.shot ? api.prepareShot() : undefined,
    };
  };

  // A result as one JSON string, which the host parses much faster than Playwright serializes the object (perf.md). Null
  // when the page has changed what JSON.stringify writes (a replaced function, or a toJSON on a built-in prototype, as
  // Prototype.js puts on Array.prototype): the host then asks for the object itself.
  api.json = function (a) {
    const native = /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(JSON.stringify));
    const toJson = [Object.prototype, Array.prototype, String.prototype, Number.prototype, Boolean.prototype]
      .some(function (p) { return 'toJSON' in p; });
    return native && !toJson ? JSON.stringify(api[a.fn](a.args)) : null;
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
    const meta = api.current.meta[args.mark];
    const vis = markRect(t.el, meta.nested);
    const x = vis.box.l, y = vis.box.t, w = vis.box.r - vis.box.l, h = vis.box.b - vis.box.t;
    // The point the observation found reachable (the centre unless that was covered), at the box as it is now.
    const px = x + meta.fx * w, py = y + meta.fy * h;
    const hit = w > 0 && h > 0 ? hitTest(px, py) : null;
    const type = t.el.tagName === 'INPUT' ? (t.el.type || '').toLowerCase() : '';
    return { x: x, y: y, w: w, h: h, px: px, py: py, hits: !!hit && composedContains(t.el, hit), hitTag: hit ? hit.tagName.toLowerCase() : '',
      multiline: t.el.tagName === 'TEXTAREA' || !!t.el.isContentEditable, tag: t.el.tagName.toLowerCase(), type: type,
      value: t.el.value === undefined ? null : String(t.el.value), min: t.el.min || '', max: t.el.max || '', step: t.el.step || '',
      disabled: !!t.el.disabled, multiple: t.el.tagName === 'SELECT' && !!t.el.multiple,
      slider: t.el.tagName !== 'INPUT' && role(t.el) === 'slider' ? sliderInfo(t.el) : null };
  };

  // A non-input slider's value now, read between the key presses that move it.
  api.slider = function (args) {
    const t = target(args); if (t.error) return t;
    return sliderInfo(t.el) || { error: 'notslider', why: 'mark ' + args.mark + ' is not a slider with a value' };
  };

  // Once the pointer is over the target, whether a press there reaches it. A hover rule may re-render the target:
  // social-media's icons swap their `content: url(...)` picture on :hover, are 0 px wide while it loads, lose the hover,
  // get their old picture back, are hovered again... frame after frame until the picture arrives; a press meanwhile
  // lands on their parent (mousedown and mouseup see different layouts). So the pointer's point must reach the target
  // on three animation frames in a row. Past capMs, { hits: false } with another point of the box that reaches it now,
  // if any (the hover covered the first one).
  api.reach = function (args) {
    const t = target(args); if (t.error) return Promise.resolve(t);
    if (!isFinite(args.x) || !isFinite(args.y)) return Promise.resolve({ error: 'point', why: 'no finite point in ' + JSON.stringify(args) });
    const meta = api.current.meta[args.mark];
    const hooks = window.__magmaHooks;
    const later = hooks ? hooks.rawSetTimeout : setTimeout;
    const reaches = function (x, y) { const h = hitTest(x, y); return { ok: !!h && composedContains(t.el, h), hit: h }; };
    return new Promise(function (resolve) {
      const start = performance.now(); let streak = 0; let done = false;
      function tick() {
        if (done) return;
        if (!t.el.isConnected) { done = true; resolve({ error: 'detached', why: 'the element was removed from the page when the pointer moved onto it' }); return; }
        const r = reaches(args.x, args.y);
        streak = r.ok ? streak + 1 : 0;
        const waited = Math.round(performance.now() - start);
        if (streak >= 3) { done = true; resolve({ hits: true, waited: waited }); return; }
        if (waited >= args.capMs) {
          done = true;
          const b = markRect(t.el, meta.nested).box; const w = b.r - b.l, h = b.b - b.t;
          let alt = null;
          for (const f of w > 0 && h > 0 ? [[meta.fx, meta.fy]].concat(SAMPLES) : []) {
            const x = b.l + f[0] * w, y = b.t + f[1] * h;
            if ((Math.abs(x - args.x) > 1 || Math.abs(y - args.y) > 1) && reaches(x, y).ok) { alt = { x: x, y: y }; break; }
          }
          resolve({ hits: false, alt: alt, w: w, h: h, hitTag: r.hit ? r.hit.tagName.toLowerCase() : '', waited: waited });
          return;
        }
        // The next frame (layout and hover are updated per frame); a timer stands in where frames are throttled.
        let fired = false;
        const next = function () { if (!fired) { fired = true; tick(); } };
        requestAnimationFrame(next); later(next, 50);
      }
      tick();
    });
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
      const ctx = makeContext();
      while (h && !isCandidate(h, ctx) && parentOf(h)) h = parentOf(h);
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

  // The timer hooks of this window and of every same-origin frame in it (an action inside an iframe sets its timers
  // there); cross-origin frames are opaque and left out.
  function allHooks() {
    const out = [];
    (function visit(win, depth) {
      let h = null; try { h = win.__magmaHooks; } catch (e) { return; }
      if (h) out.push(h);
      if (depth > 5) return;
      let n = 0; try { n = win.frames.length; } catch (e) { n = 0; }
      for (let i = 0; i < n; i++) { let f = null; try { f = win.frames[i]; } catch (e) { f = null; } if (f) visit(f, depth + 1); }
    })(window, 0);
    return out;
  }

  // Page state for effect reports; the target's value and checked state when a mark is given.
  api.state = function (args) {
    // Before an action: timers set from now on belong to it, and settle waits for them (hooks.js).
    if (args && args.begin) allHooks().forEach(function (h) { h.begin(); });
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

  // Resolves once no mutation was seen for quietMs and no short timer the action set (a debounced autocomplete) is
  // pending in the page or its same-origin frames, or after capMs. Its own polling uses the page's original setTimeout, so it does not wait for itself.
  api.quiet = function (args) {
    const hooks = window.__magmaHooks;
    const later = hooks ? hooks.rawSetTimeout : setTimeout;
    return new Promise(function (resolve) {
      const start = performance.now(); let last = api.mutations; let since = start;
      (function tick() {
        const now = performance.now();
        if (api.mutations !== last) { last = api.mutations; since = now; }
        let waiting = 0; allHooks().forEach(function (h) { waiting += h.pending(); });
        if (waiting > 0) since = now;
        if ((now - since >= args.quietMs && waiting === 0) || now - start >= args.capMs) { resolve(Math.round(now - start)); return; }
        later(tick, 25);
      })();
    });
  };

  // The element of a mark, for the host's element handle (Playwright's fill of date, time and colour inputs).
  api.element = function (args) { const t = target(args); return t.error ? null : t.el; };

  // Focuses the target and selects its content, so that typing replaces it.
  api.focusSelect = function (args) {
    const t = target(args); if (t.error) return t;
    const el = t.el; el.focus();
    if (typeof el.select === 'function') el.select();
    else if (el.isContentEditable) { const r = el.ownerDocument.createRange(); r.selectNodeContents(el); const s = el.ownerDocument.getSelection(); s.removeAllRanges(); s.addRange(r); }
    return { ok: true };
  };

  // Select an option by label: exact, then case-insensitive, then containment either way. Mode "replace" makes it the
  // only choice; "add" and "remove" change one option of a multi-select and keep the others.
  api.select = function (args) {
    const t = target(args); if (t.error) return t;
    const el = t.el;
    if (el.tagName !== 'SELECT') return { error: 'notselect', why: 'mark ' + args.mark + ' is a ' + el.tagName.toLowerCase() + ', not a <select>' };
    const mode = args.mode || 'replace';
    if (mode !== 'replace' && !el.multiple) return { error: 'notmultiple', why: 'mark ' + args.mark + ' is a single-choice list; ' + mode + ' works on multi-select lists only, use select to choose its option' };
    const opts = Array.from(el.options);
    const want = clean(args.label, 200); const low = want.toLowerCase();
    let pick = opts.find(function (o) { return clean(o.text, 200) === want || o.value === want; })
      || opts.find(function (o) { return clean(o.text, 200).toLowerCase() === low; })
      || opts.find(function (o) { const x = clean(o.text, 200).toLowerCase(); return low && (x.includes(low) || low.includes(x)) && x; });
    if (!pick) return { error: 'nooption', why: 'no option like "' + want + '"; options are: ' + opts.map(function (o) { return clean(o.text, 40); }).join(', ') };
    if (pick.disabled) return { error: 'disabled', why: 'option "' + clean(pick.text, 80) + '" is disabled' };
    el.focus();
    if (mode === 'add') pick.selected = true;
    else if (mode === 'remove') pick.selected = false;
    else { opts.forEach(function (o) { o.selected = o === pick; }); }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return { ok: true, label: clean(pick.text, 80) };
  };

  // Playwright's preparation for a screenshot with caret 'hide' and animations 'disabled' (adapted from
  // inPagePrepareForScreenshots in its screenshotter.ts, Copyright (c) Microsoft Corporation, Apache-2.0: see
  // THIRD-PARTY-NOTICES.md), done here in every document of the page so that the host can
  // capture the viewport through CDP with optimizeForSpeed (a faster PNG encoding of the same pixels, docs/perf.md) in
  // place of Playwright's screenshot. Carets go transparent; finite animations and transitions are finished and infinite
  // ones cancelled, in the document and every open shadow root, also those that start before the capture; restoreShot
  // undoes all of it as Playwright's cleanup does. The answer tells the host whether it covered what Playwright would:
  // documents reached, frames it could not reach (cross-origin: the host then takes Playwright's screenshot), whether the
  // top document's fonts are loaded (Playwright waits for document.fonts.ready; here a font still loading sends the host
  // to Playwright, so nothing waits on a promise the page controls) and the visual viewport's zoom.
  let shotCleanup = null;
  function prepareDocument(doc, cleanups) {
    const collectRoots = function (root, roots) {
      roots.push(root);
      const walker = doc.createTreeWalker(root, 1 /* NodeFilter.SHOW_ELEMENT */);
      do {
        const node = walker.currentNode;
        const shadowRoot = node.nodeType === 1 ? node.shadowRoot : null;
        if (shadowRoot) collectRoots(shadowRoot, roots);
      } while (walker.nextNode());
      return roots;
    };
    const roots = collectRoots(doc, []);
    const elements = new Map();
    for (const root of roots) {
      root.querySelectorAll('input,textarea,[contenteditable]').forEach(function (element) {
        elements.set(element, { value: element.style.getPropertyValue('caret-color'), priority: element.style.getPropertyPriority('caret-color') });
        element.style.setProperty('caret-color', 'transparent', 'important');
      });
    }
    cleanups.push(function () {
      for (const [element, value] of elements) element.style.setProperty('caret-color', value.value, value.priority);
    });
    const infiniteAnimationsToResume = new Set();
    const handleAnimations = function (root) {
      for (const animation of root.getAnimations()) {
        if (!animation.effect || animation.playbackRate === 0 || infiniteAnimationsToResume.has(animation)) continue;
        const endTime = animation.effect.getComputedTiming().endTime;
        if (Number.isFinite(endTime)) {
          try { animation.finish(); } catch (e) { /* as Playwright: left as it is */ }
        } else {
          try { animation.cancel(); infiniteAnimationsToResume.add(animation); } catch (e) { /* likewise */ }
        }
      }
    };
    for (const root of roots) {
      const handleRootAnimations = handleAnimations.bind(null, root);
      handleRootAnimations();
      root.addEventListener('transitionrun', handleRootAnimations);
      root.addEventListener('animationstart', handleRootAnimations);
      cleanups.push(function () {
        root.removeEventListener('transitionrun', handleRootAnimations);
        root.removeEventListener('animationstart', handleRootAnimations);
      });
    }
    cleanups.push(function () {
      for (const animation of infiniteAnimationsToResume) { try { animation.play(); } catch (e) { /* as Playwright */ } }
    });
  }

  api.prepareShot = function () {
    api.restoreShot();
    const cleanups = [];
    let docs = 0, opaque = 0;
    (function visit(win) {
      let doc = null; try { doc = win.document; } catch (e) { doc = null; }
      if (!doc) { opaque++; return; }
      docs++;
      prepareDocument(doc, cleanups);
      let n = 0; try { n = win.frames.length; } catch (e) { n = 0; }
      for (let i = 0; i < n; i++) { let f = null; try { f = win.frames[i]; } catch (e) { f = null; } if (f) visit(f); else opaque++; }
    })(window);
    shotCleanup = cleanups;
    return { docs: docs, opaque: opaque, fonts: document.fonts.status === 'loaded', scale: window.visualViewport ? window.visualViewport.scale : 1 };
  };

  api.restoreShot = function () {
    const cleanups = shotCleanup;
    shotCleanup = null;
    if (cleanups) for (const cleanup of cleanups) cleanup();
    return true;
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
