/* gupcheck HTML reports: step through a trace, show the state of the selected step.
   All data comes from each trace section's JSON block (script.trace-data) and is written
   with textContent only, never as markup. */
(function () {
  "use strict";

  var GROUPS = {
    "state": "state (as the text report prints it)",
    "struct folio": "struct folio",
    "threads": "threads (where each actor is)",
    "kernel": "other kernel state",
    "ghost": "ghost state (what the properties read)"
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function Viewer(section) {
    this.section = section;
    this.data = JSON.parse(section.querySelector("script.trace-data").textContent);
    this.rows = Array.prototype.slice.call(section.querySelectorAll("tr.step"));
    this.panel = section.querySelector(".panel");
    this.current = -1;
    // rebuild every step's whole state from the first one and the per-step changes
    var cur = new Map();
    this.states = [];
    var self = this;
    this.data.steps.forEach(function (st) {
      var changed = new Map();
      st.gone.forEach(function (k) { changed.set(k, [cur.get(k), null]); cur.delete(k); });
      st.set.forEach(function (e) {
        if (st.i > 0) { changed.set(e[1], [cur.get(e[1]), e]); }
        cur.set(e[1], e);
      });
      self.states.push({ entries: Array.from(cur.values()), changed: changed });
    });
    this.rows.forEach(function (row) {
      row.addEventListener("click", function () { self.select(Number(row.dataset.step)); });
    });
    section.querySelector("button.prev").addEventListener("click", function () { self.move(-1); });
    section.querySelector("button.next").addEventListener("click", function () { self.move(1); });
  }

  Viewer.prototype.move = function (delta) {
    var i = Math.max(0, Math.min(this.data.steps.length - 1, this.current + delta));
    this.select(i);
  };

  Viewer.prototype.select = function (i) {
    if (i < 0 || i >= this.data.steps.length) { return; }
    this.current = i;
    this.rows.forEach(function (row) {
      row.classList.toggle("selected", Number(row.dataset.step) === i);
      if (Number(row.dataset.step) === i) {
        row.scrollIntoView({ block: "nearest" });
      }
    });
    this.render(i);
  };

  Viewer.prototype.render = function (i) {
    var d = this.data, st = d.steps[i], state = this.states[i], last = d.steps.length - 1;
    var p = this.panel;
    while (p.firstChild) { p.removeChild(p.firstChild); }
    p.appendChild(el("h3", "step-title", "Step " + i + " of " + last));
    if (st.actor !== null) {
      var who = el("p", "who");
      who.appendChild(el("b", "actor", st.actor));
      who.appendChild(document.createTextNode(": "));
      who.appendChild(el("span", "func", st.func));
      if (st.choice) { who.appendChild(el("span", "choice", " (" + st.choice + ")")); }
      p.appendChild(who);
      if (st.rest) { p.appendChild(el("p", "rest", st.rest)); }
    } else {
      p.appendChild(el("p", "who", "initial state"));
    }
    if (d.loop_start !== null && i >= d.loop_start && !d.stutters) {
      p.appendChild(el("p", "loop-note", "in the loop: steps " + d.loop_start + " to " + last +
                       " repeat forever"));
    }
    if (i === last && ["violated", "deadlock", "starves", "error"].indexOf(d.verdict) >= 0) {
      var box = el("div", "failure");
      box.appendChild(el("b", null, "✗ " + d.verdict.toUpperCase() +
                         (d.property ? " — " + d.property : "")));
      box.appendChild(el("div", "failure-msg", d.message));
      if (d.stutters) {
        box.appendChild(el("div", null, "step " + last + " repeats forever (stuttering): " +
                           "no weakly fair action is enabled there"));
      } else if (d.loop_start !== null) {
        box.appendChild(el("div", null, "then back to step " + d.loop_start));
      }
      p.appendChild(box);
    }
    // properties at this step
    if (d.props.length) {
      p.appendChild(el("h4", null, "properties at this step"));
      var pt = el("table", "props");
      var status = d.props.map(function () { return ["holds", ""]; });
      st.props.forEach(function (e) { status[e[0]] = [e[1], e[2]]; });
      d.props.forEach(function (prop, k) {
        var s = status[k];
        var tr = el("tr", "prop" + (s[0] === "holds" ? "" : " failing") +
                    (prop.name === d.property ? " checked" : ""));
        tr.dataset.property = prop.name;
        tr.dataset.status = s[0];
        tr.title = prop.doc;
        tr.appendChild(el("td", "key", prop.short + " " + prop.name));
        tr.appendChild(el("td", "st-" + s[0], s[0]));
        tr.appendChild(el("td", "why", s[1]));
        pt.appendChild(tr);
      });
      p.appendChild(pt);
    }
    if (st.waits.length) {
      p.appendChild(el("h4", null, "blocked"));
      var ul = el("ul", "waits");
      st.waits.forEach(function (w) { ul.appendChild(el("li", null, w)); });
      p.appendChild(ul);
    }
    // the state, by group, changed fields first highlighted
    var groups = new Map();
    state.entries.forEach(function (e) {
      if (!groups.has(e[0])) { groups.set(e[0], []); }
      groups.get(e[0]).push(e);
    });
    var gone = [];
    state.changed.forEach(function (v, k) { if (v[1] === null) { gone.push([k, v[0]]); } });
    groups.forEach(function (entries, g) {
      p.appendChild(el("h4", null, GROUPS[g] || g));
      var t = el("table", "state");
      t.dataset.group = g;
      entries.forEach(function (e) {
        var ch = state.changed.get(e[1]);
        var tr = el("tr", ch ? "changed" : "");
        tr.dataset.field = e[1];
        tr.appendChild(el("td", "key", e[1]));
        var td = el("td", "val");
        if (ch && ch[0]) { td.appendChild(el("span", "old", ch[0][2])); }
        td.appendChild(el("span", "new", e[2]));
        tr.appendChild(td);
        t.appendChild(tr);
      });
      p.appendChild(t);
    });
    if (gone.length) {
      p.appendChild(el("h4", null, "gone at this step"));
      var gt = el("table", "state");
      gone.forEach(function (e) {
        var tr = el("tr", "changed");
        tr.dataset.field = e[0];
        tr.appendChild(el("td", "key", e[0]));
        var td = el("td", "val");
        td.appendChild(el("span", "old", e[1] ? e[1][2] : ""));
        td.appendChild(el("span", "new", "(gone)"));
        tr.appendChild(td);
        gt.appendChild(tr);
      });
      p.appendChild(gt);
    }
  };

  var viewers = new Map();

  function viewer(section) {
    if (!section || !section.querySelector("script.trace-data")) { return null; }
    if (!viewers.has(section.id)) {
      var v = new Viewer(section);
      viewers.set(section.id, v);
      v.select(0);
    }
    return viewers.get(section.id);
  }

  function active() {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    var shown = Boolean(target && target.classList.contains("trace-target"));
    // the matrix page: a trace replaces the matrix, at the top of the page
    if (document.body.classList.contains("show-trace") !== shown) {
      document.body.classList.toggle("show-trace", shown);
      if (shown) { window.scrollTo(0, 0); }
    }
    if (target && target.classList.contains("trace")) { return viewer(target); }
    var only = document.querySelectorAll("section.trace");
    return only.length === 1 ? viewer(only[0]) : null;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var delta = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[ev.key];
    var v = delta ? active() : null;
    if (v) { ev.preventDefault(); v.move(delta); }
  });
  window.addEventListener("hashchange", active);
  active();
}());
