// Installed by WebSession in every frame before any page script runs (a browser-context init script). It records two
// things the marker cannot see from outside the page's own code:
// - which elements got pointer, hover or drag listeners through addEventListener (a handler of their own, so a clickable
//   child inside a clickable row is marked on its own);
// - the short timers (≤ 1 s) the page set since the current action began, and those their callbacks set in turn (two
//   levels), so settling waits for a debounced autocomplete instead of a fixed window. Timers of earlier work (a polling
//   loop) belong to an older generation and are not waited for.
// Page behaviour is unchanged: the originals are called with the same arguments and their results returned.
(function () {
  'use strict';
  if (window.__magmaHooks) return;
  const LISTENED = new Set(['click', 'dblclick', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart',
    'mouseover', 'mouseenter', 'dragstart', 'drop', 'contextmenu']);
  const handlers = new WeakSet();
  const pending = new Map(); // timer id → generation
  let generation = 0; let current = null; // generation of the callback running now, if a tracked timer's
  const setT = window.setTimeout, clearT = window.clearTimeout;
  const hooks = {
    handles: function (el) { return handlers.has(el); },
    begin: function () { generation++; pending.clear(); return generation; },
    pending: function () { let n = 0; pending.forEach(function (g) { if (g === generation) n++; }); return n; },
    rawSetTimeout: function (fn, delay) { return setT.call(window, fn, delay); },
  };
  Object.defineProperty(window, '__magmaHooks', { value: hooks, enumerable: false, configurable: false, writable: false });

  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (LISTENED.has(type) && this && this.nodeType === 1) handlers.add(this);
    return add.call(this, type, listener, options);
  };

  window.setTimeout = function (fn, delay) {
    const d = Number(delay) || 0;
    // A timer set from a tracked callback inherits its generation with one level used up; others join the current one.
    const gen = current ? current.gen : generation;
    const depth = current ? current.depth + 1 : 0;
    if (typeof fn !== 'function') return setT.apply(window, arguments);
    const args = Array.prototype.slice.call(arguments, 2);
    const id = setT.call(window, function () {
      pending.delete(id);
      const outer = current; current = { gen: gen, depth: depth };
      try { return fn.apply(window, args); } finally { current = outer; }
    }, d);
    // Every descendant keeps its generation, so a loop that re-arms itself stays out of later actions' settles.
    if (d <= 1000 && depth <= 2) pending.set(id, gen);
    return id;
  };
  window.clearTimeout = function (id) { pending.delete(id); return clearT.call(window, id); };
})();
