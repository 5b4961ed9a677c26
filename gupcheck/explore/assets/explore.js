/* gupcheck explore: the page asks the local server (/api/...) for the current state and sends
   it the user's moves.  Every text comes from the server's JSON and is written with
   textContent only, never as markup: actor names come from scenario files. */
(function () {
  "use strict";

  var GROUPS = {
    "state": "kernel state (as the text report prints it)",
    "struct folio": "struct folio (every field)",
    "threads": "threads (where each actor is in its operation)",
    "kernel": "other kernel objects (bios, PTEs, disk, locks)",
    "ghost": "ghost state (what the properties read)"
  };
  var PAGE = /^((?:page|pmem block) \d+) (.+)$/;
  var current = null;
  var busy = false;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function api(method, path, body) {
    var opts = { method: method, headers: {} };
    if (method === "POST") {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body || {});
    }
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) { throw new Error(d.error || ("HTTP " + r.status)); }
        return d;
      });
    });
  }

  function act(path, body) {
    if (busy) { return; }
    busy = true;
    document.body.classList.add("busy");
    api("POST", path, body).then(render, function (err) {
      show($("error"), err.message);
    }).then(function () {
      busy = false;
      document.body.classList.remove("busy");
    });
  }

  // "CPU0 app: filemap_fault (page 0)" as spans: actor, function, choice
  function stepName(s, withActor) {
    var span = el("span", "name");
    if (s.actor !== null && withActor) {
      span.appendChild(el("b", "actor", s.actor));
      span.appendChild(document.createTextNode(": "));
    }
    span.appendChild(el("span", "func", s.func));
    if (s.choice) { span.appendChild(el("span", "choice", " (" + s.choice + ")")); }
    return span;
  }

  function renderOrigin(d) {
    var o = d.origin, box = $("origin");
    clear(box);
    box.hidden = !o;
    if (!o) { return; }
    box.appendChild(el("b", null, "Loaded trace " + o.file + ": "));
    box.appendChild(el("span", "v-" + (o.verdict || "none") + " badge",
                       (o.verdict || "?").toUpperCase()));
    if (o.property) { box.appendChild(el("span", "prop-name", " " + o.property)); }
    box.appendChild(document.createTextNode(" — " + o.steps + " steps. "));
    if (o.stutters) {
      box.appendChild(el("span", "lasso", "A lasso: its last state repeats forever " +
                         "(no weakly fair step is enabled there). "));
    } else if (o.loop_start !== null && o.loop_start !== undefined) {
      box.appendChild(el("span", "lasso", "A lasso: after step " + o.steps + " it goes back " +
                         "to state " + o.loop_start + " (↻ in the path), forever. "));
    }
    box.appendChild(el("span", o.reproduced ? "replay-ok" : "replay-bad",
                       "Replayed on this model: " + o.replay));
  }

  function renderPath(d) {
    var ol = $("path");
    clear(ol);
    d.path.forEach(function (s) {
      var li = el("li", "node" + (s.i === d.cursor ? " current" : "") + (s.bad ? " bad" : ""));
      li.dataset.index = s.i;
      li.title = s.label;
      li.appendChild(el("span", "num", s.i + (s.bad ? "✗" : "")));
      li.appendChild(stepName(s, true));
      if (d.origin && d.origin.loop_start === s.i && !d.origin.stutters) {
        li.appendChild(el("span", "tag loop-tag", "↻ the loop returns here"));
      }
      li.addEventListener("click", function () { act("/api/jump", { index: s.i }); });
      ol.appendChild(li);
    });
    var cur = ol.querySelector("li.current");
    if (cur && cur.scrollIntoView) { cur.scrollIntoView({ block: "nearest" }); }
    $("back").disabled = d.cursor === 0;
    $("forward").disabled = d.cursor >= d.path.length - 1;
  }

  function renderHere(d) {
    var s = d.path[d.cursor], h = $("here");
    clear(h);
    h.appendChild(el("span", "num", "State " + d.cursor + " of " + (d.path.length - 1)));
    if (s.actor !== null) {
      h.appendChild(document.createTextNode(" after "));
      h.appendChild(stepName(s, true));
    } else {
      h.appendChild(el("span", "init", " the initial state"));
    }
    var st = $("status");
    clear(st);
    if (s.rest) { st.appendChild(el("p", "rest", s.rest)); }
    if (d.error) { st.appendChild(el("p", "error", d.error)); }
    if (d.deadlock) {
      st.appendChild(el("p", "deadlock", "DEADLOCK: no step is enabled and this is not an " +
                        "end state."));
    } else if (d.end && !d.steps.length) {
      st.appendChild(el("p", "end", "End: every program has finished, no I/O in flight " +
                        "(or the kernel crashed)."));
    }
  }

  function renderSteps(d) {
    var ol = $("steps");
    clear(ol);
    d.steps.forEach(function (s) {
      var li = el("li", "step" + (s.next ? " next" : "") + (s.breaks.length ? " breaks" : ""));
      li.dataset.index = s.index;
      li.tabIndex = 0;
      li.title = s.label;
      var head = el("div", "step-head");
      head.appendChild(el("span", "num", "#" + s.index));
      head.appendChild(stepName(s, true));
      if (s.next) { head.appendChild(el("span", "tag next-tag", "the path goes on here")); }
      li.appendChild(head);
      if (s.rest) { li.appendChild(el("div", "rest", s.rest)); }
      if (s.breaks.length) {
        li.appendChild(el("div", "break-msg", "✗ violates " + s.breaks.join(", ")));
      }
      if (s.changes.length) {
        li.appendChild(el("div", "changes", "changes " + s.changes.slice(0, 6).join(", ") +
                          (s.changes.length > 6 ? " … (" + s.changes.length + " fields)" : "")));
      }
      li.addEventListener("click", function () { act("/api/step", { index: s.index }); });
      li.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          act("/api/step", { index: s.index });
        }
      });
      ol.appendChild(li);
    });
    if (!d.steps.length) { ol.appendChild(el("li", "none", "none")); }
    var ul = $("waits");
    clear(ul);
    d.waits.forEach(function (w) { ul.appendChild(el("li", null, w.text)); });
    $("blocked").hidden = !d.waits.length;
  }

  function renderProps(d) {
    var t = $("props"), sel = $("find-prop"), keep = sel.value;
    clear(t);
    clear(sel);
    d.props.forEach(function (p) {
      var tr = el("tr", "prop" + (p.status === "holds" ? "" : p.status === "pending" ?
                                  " pending" : " failing"));
      tr.dataset.property = p.name;
      tr.dataset.status = p.status;
      tr.title = p.doc;
      tr.appendChild(el("td", "key", p.short + " " + p.name));
      tr.appendChild(el("td", "st-" + p.status, p.status));
      tr.appendChild(el("td", "why", p.why));
      t.appendChild(tr);
      if (p.kind === "safety") {
        var o = el("option", null, p.name);
        o.value = p.name;
        sel.appendChild(o);
      }
    });
    if (keep) { sel.value = keep; }
    $("find").disabled = !sel.options.length;
  }

  // e: [group, field, value, old value or null, changed by the last step]
  function row(e, shown) {
    var tr = el("tr", e[4] ? "changed" : "");
    tr.dataset.field = e[1];
    tr.appendChild(el("td", "key", shown));
    var td = el("td", "val");
    if (e[4] && e[3] !== null) { td.appendChild(el("span", "old", e[3])); }
    td.appendChild(el("span", "new", e[2]));
    tr.appendChild(td);
    return tr;
  }

  // the kernel-notation group: one card per page (flags, refcount, pins, pte, data, disk)
  function kernelGroup(entries) {
    var box = el("div", "pages"), other = el("table", "state"), cards = new Map();
    other.dataset.group = "state";
    entries.forEach(function (e) {
      var m = PAGE.exec(e[1]);
      if (!m) { other.appendChild(row(e, e[1])); return; }
      if (!cards.has(m[1])) {
        var card = el("div", "page-card");
        card.appendChild(el("h4", null, m[1]));
        var t = el("table", "state");
        t.dataset.group = "state";
        card.appendChild(t);
        cards.set(m[1], t);
        box.appendChild(card);
      }
      cards.get(m[1]).appendChild(row(e, m[2]));
    });
    var wrap = el("div", "group group-state");
    wrap.appendChild(el("h3", null, GROUPS.state));
    wrap.appendChild(box);
    wrap.appendChild(other);
    return wrap;
  }

  // each actor's program, the operation it is in highlighted with the step it takes next
  function renderActors(d) {
    var box = $("actors");
    clear(box);
    box.hidden = !d.actors.length;
    if (!d.actors.length) { return; }
    box.appendChild(el("h3", null, "threads (each actor's program; ▸ where it is)"));
    var t = el("table", "actors");
    d.actors.forEach(function (a) {
      var tr = el("tr", a.blocked ? "blocked" : "");
      tr.dataset.actor = a.name;
      tr.appendChild(el("td", "key actor", a.name + (a.daemon ? " (daemon)" : "")));
      var prog = el("td", "prog");
      a.ops.forEach(function (op, k) {
        var cls = k < a.pc ? "op done" : (k === a.pc ? "op now" : "op todo");
        var span = el("span", cls, (k === a.pc ? "▸ " : "") + op);
        if (k === a.pc && a.stage) { span.appendChild(el("span", "stage", " at " + a.stage)); }
        prog.appendChild(span);
      });
      if (a.pc >= a.ops.length) { prog.appendChild(el("span", "op finished", "finished")); }
      if (a.results.length) {
        prog.appendChild(el("div", "results", "returned " + a.results.join(", ")));
      }
      if (a.blocked) { prog.appendChild(el("div", "blocked-msg", "blocked: " + a.blocked)); }
      tr.appendChild(prog);
      t.appendChild(tr);
    });
    box.appendChild(t);
  }

  function renderState(d) {
    var root = $("state"), open = {};
    root.querySelectorAll("details[data-group]").forEach(function (det) {
      open[det.dataset.group] = det.open;
    });
    clear(root);
    var groups = new Map();
    d.state.forEach(function (e) {
      if (!groups.has(e[0])) { groups.set(e[0], []); }
      groups.get(e[0]).push(e);
    });
    groups.forEach(function (entries, g) {
      if (g === "state") { root.appendChild(kernelGroup(entries)); return; }
      var n = entries.filter(function (e) { return e[4]; }).length;
      var det = el("details", "group");
      det.dataset.group = g;
      det.open = Object.prototype.hasOwnProperty.call(open, g) ? open[g] : false;
      det.appendChild(el("summary", null, (GROUPS[g] || g) + (n ? " — " + n + " changed" : "")));
      var t = el("table", "state");
      t.dataset.group = g;
      entries.forEach(function (e) { t.appendChild(row(e, e[1])); });
      det.appendChild(t);
      root.appendChild(det);
    });
    if (d.gone.length) {
      var wrap = el("div", "group");
      wrap.appendChild(el("h3", null, "gone at this step"));
      var t = el("table", "state");
      d.gone.forEach(function (e) {
        var tr = el("tr", "changed");
        tr.dataset.field = e[1];
        tr.appendChild(el("td", "key", e[1]));
        var td = el("td", "val");
        td.appendChild(el("span", "old", e[2]));
        td.appendChild(el("span", "new", "(gone)"));
        tr.appendChild(td);
        t.appendChild(tr);
      });
      wrap.appendChild(t);
      root.appendChild(wrap);
    }
  }

  function render(d) {
    current = d;
    $("title").textContent = d.title;
    document.title = "gupcheck explore: " + d.title;
    show($("heading"), d.heading);
    show($("notice"), d.notice);
    show($("error"), "");
    renderOrigin(d);
    renderPath(d);
    renderHere(d);
    renderSteps(d);
    renderProps(d);
    renderActors(d);
    renderState(d);
    document.body.dataset.cursor = d.cursor;
    document.body.dataset.length = d.path.length;
  }

  $("back").addEventListener("click", function () { act("/api/back"); });
  $("forward").addEventListener("click", function () { act("/api/forward"); });
  $("reset").addEventListener("click", function () { act("/api/reset"); });
  $("find").addEventListener("click", function () {
    act("/api/find", { property: $("find-prop").value });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || !current) { return; }
    var tag = ev.target && ev.target.tagName;
    if (tag === "SELECT" || tag === "INPUT") { return; }
    if (ev.key === "ArrowLeft" && current.cursor > 0) { ev.preventDefault(); act("/api/back"); }
    if (ev.key === "ArrowRight" && current.cursor < current.path.length - 1) {
      ev.preventDefault();
      act("/api/forward");
    }
  });
  api("GET", "/api/state").then(render, function (err) { show($("error"), err.message); });
}());
