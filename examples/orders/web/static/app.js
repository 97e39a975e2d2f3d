// The time-travel page. Plain JavaScript, no build step, no framework.
//
// Everything shown comes from the server: the streams (GET /v1/streams),
// a stream's events with the fields each changed (GET /v1/timeline), the
// state at a point (GET /v1/state, shown exactly as it answers, in the
// order and the spelling of its JSON), and new events (the Durable Streams
// endpoint, long-polled from the last offset seen). The page folds nothing
// itself: the fold is the aggregate's Go code, and the page must agree with
// the API and the CLI to the byte.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const page = {
    category: "orders",
    streams: [],          // [{name, version, offset, storedAt, closed}]
    stream: null,         // the stream picked: {name, category, id}
    timeline: null,       // the answer of /v1/timeline
    version: 0,           // the version shown
    seq: 0,               // numbers state requests; only the newest is shown
    live: null,           // the AbortController of the long-poll loop
  };

  // ---------- the token of a server with authentication ----------

  // A server with authentication wants a bearer token on every request.
  // The page takes it from the address's fragment (open the page as
  // /#token=...: a fragment never reaches a server or its logs), keeps it
  // in sessionStorage (this tab only, gone when it closes), removes it
  // from the address bar, and asks for one once if an answer is 401.
  const TOKEN_KEY = "rewind.token";
  (function takeToken() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return;
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  })();
  let askedForToken = false;

  // authed returns fetch options with the token's Authorization header.
  function authed(options) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return options;
    const o = Object.assign({}, options);
    o.headers = Object.assign({}, o.headers, { Authorization: "Bearer " + token });
    return o;
  }

  // fetchAuthed fetches with the token, asking for one on a first 401.
  async function fetchAuthed(path, options) {
    const resp = await fetch(path, authed(options));
    if (resp.status !== 401 || askedForToken) return resp;
    askedForToken = true;
    const token = window.prompt("This Rewind server needs a token (rewind token --scope read makes one):");
    if (!token) return resp;
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    return fetch(path, authed(options));
  }

  // ---------- talking to the server ----------

  // api fetches path and returns the body's text; an error answer throws
  // with the endpoint's {"error": "..."} reason.
  async function api(path, options) {
    const resp = await fetchAuthed(path, options);
    const text = await resp.text();
    if (!resp.ok) {
      let reason = "";
      try { reason = JSON.parse(text).error || ""; } catch (_) { /* not JSON */ }
      throw new Error(reason || `${resp.status} ${resp.statusText}`);
    }
    return text;
  }

  const enc = encodeURIComponent;
  const aggPath = (s) => `${enc(s.category)}/${enc(s.id)}`;
  const streamPath = (name) => name.split("/").map(enc).join("/");

  // ---------- JSON that keeps its order and spelling ----------

  // parseOrdered reads JSON into nodes that keep the keys' order and each
  // literal's text as sent ({t:"o", e:[[key, node]]}, {t:"a", e:[node]},
  // {t:"v", s:"text"}): JSON.parse would reorder integer-like keys and
  // round big numbers, and the page shows the endpoint's answer exactly.
  function parseOrdered(text) {
    let i = 0;
    const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
    const str = () => {
      const start = i++;
      while (text[i] !== '"') { if (text[i] === "\\") i++; i++; if (i > text.length) throw new Error("bad JSON"); }
      i++;
      return text.slice(start, i);
    };
    const value = () => {
      ws();
      const c = text[i];
      if (c === "{" || c === "[") {
        i++;
        const node = { t: c === "{" ? "o" : "a", e: [] };
        ws();
        if (text[i] === (c === "{" ? "}" : "]")) { i++; return node; }
        for (;;) {
          if (node.t === "o") {
            ws();
            const key = JSON.parse(str());
            ws(); i++; // the colon
            node.e.push([key, value()]);
          } else {
            node.e.push(value());
          }
          ws();
          if (text[i++] === ",") continue;
          return node;
        }
      }
      if (c === '"') return { t: "v", s: str() };
      const start = i;
      while (i < text.length && !",]} \t\n\r".includes(text[i])) i++;
      return { t: "v", s: text.slice(start, i) };
    };
    const node = value();
    return node;
  }

  const field = (node, key) => node && node.t === "o" ? (node.e.find(([k]) => k === key) || [])[1] : undefined;
  const literal = (node) => node && node.t === "v" ? JSON.parse(node.s) : null;

  // ---------- formatting ----------

  const timeFmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  const shortFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const rel = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });
  const fmtTime = (iso) => iso ? timeFmt.format(new Date(iso)) : "–";

  function ago(iso) {
    const s = (new Date(iso) - Date.now()) / 1000;
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [86400 * 30, "day"], [86400 * 365, "month"]];
    let unit = "year", div = 86400 * 365;
    for (let k = 0; k < steps.length; k++) {
      if (Math.abs(s) < steps[k][0]) { unit = steps[k][1]; div = k ? steps[k - 1][0] : 1; break; }
    }
    return rel.format(Math.round(s / div), unit);
  }

  // localInput gives a time as a datetime-local input holds it.
  function localInput(iso) {
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  // hue gives each event type a colour of its own, the same on every load.
  function hue(type) {
    let h = 0;
    for (const ch of type) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return h % 360;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "style") e.style.cssText = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  const compact = (v) => v === undefined ? "–" : JSON.stringify(v);
  const shorten = (s, n) => s.length > n ? s.slice(0, n - 1) + "…" : s;

  function describeChange(ch) {
    if (ch.from === null || ch.from === undefined) return `${ch.path || "state"} = ${shorten(compact(ch.to), 48)}`;
    if (ch.to === null || ch.to === undefined) return `${ch.path || "state"} removed`;
    return `${ch.path || "state"}: ${shorten(compact(ch.from), 30)} → ${shorten(compact(ch.to), 30)}`;
  }

  let toastTimer = 0;
  function toast(message, kind) {
    const t = $("toast");
    t.textContent = message;
    t.dataset.kind = kind || "info";
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  // ---------- streams ----------

  async function loadCategories() {
    let categories = ["orders"];
    try {
      const ans = JSON.parse(await api("/v1/aggregates"));
      const found = (ans.aggregates || []).map((a) => a.category);
      if (found.length) categories = found;
    } catch (_) { /* a server without the list: orders only */ }
    const sel = $("category");
    sel.replaceChildren(...categories.map((c) => el("option", { value: c, textContent: c })));
    if (categories.includes(page.category)) sel.value = page.category;
    else page.category = categories[0];
  }

  async function loadStreams() {
    try {
      const ans = JSON.parse(await api(`/v1/streams?category=${enc(page.category)}`));
      page.streams = (ans.streams || []).slice().sort((a, b) => (b.storedAt || "").localeCompare(a.storedAt || ""));
    } catch (err) {
      page.streams = [];
      toast(`Could not list the streams: ${err.message}`, "error");
    }
    renderStreams();
  }

  const streamID = (name) => name.split("/")[1] || name;
  const MAX_LISTED = 250;

  // renderStreams draws the list; reveal scrolls the picked stream into
  // view (on a pick or a new filter, not when a live event updates a row).
  function renderStreams(reveal) {
    const q = $("filter").value.trim().toLowerCase();
    const matches = q ? page.streams.filter((s) => s.name.toLowerCase().includes(q)) : page.streams;
    $("stream-count").textContent = `${matches.length.toLocaleString()} of ${page.streams.length.toLocaleString()}`;
    const items = matches.slice(0, MAX_LISTED).map((s) => {
      const li = el("li", { "data-stream": s.name, tabIndex: 0, title: `${s.name}\nlast event ${fmtTime(s.storedAt)}` },
        el("span", { class: "sid", textContent: streamID(s.name) }),
        el("span", { class: "scount", textContent: `${s.version} ev` }),
        el("span", { class: "swhen", textContent: s.storedAt ? ago(s.storedAt) : "" }));
      if (page.stream && page.stream.name === s.name) li.classList.add("selected");
      return li;
    });
    $("stream-list").replaceChildren(...items);
    const more = matches.length - items.length;
    const picked = $("stream-list").querySelector("li.selected");
    if (reveal === true && picked) picked.scrollIntoView({ block: "nearest" });
    $("stream-more").textContent = more > 0 ? `${more.toLocaleString()} more: type to narrow the list` : (matches.length ? "" : "No stream matches.");
  }

  function onStreamClick(ev) {
    const li = ev.target.closest("li[data-stream]");
    if (li) openStream(li.dataset.stream);
  }

  // ---------- one stream ----------

  async function openStream(name, version) {
    const parts = name.split("/");
    page.stream = { name, category: parts[0], id: parts[1] };
    page.timeline = null;
    stopLive();
    for (const li of document.querySelectorAll("#stream-list li")) li.classList.toggle("selected", li.dataset.stream === name);
    const picked = $("stream-list").querySelector("li.selected");
    if (picked) picked.scrollIntoView({ block: "nearest" });
    $("empty").hidden = true;
    $("view").hidden = false;
    $("stream-name").textContent = name;
    $("stream-meta").textContent = "loading…";
    $("state-json").replaceChildren();
    $("events").replaceChildren();
    try {
      await loadTimeline();
    } catch (err) {
      $("stream-meta").textContent = "";
      toast(`Could not load ${name}: ${err.message}`, "error");
      return;
    }
    const head = page.timeline.version;
    const v = version === undefined || version > head ? head : version;
    await goTo(v);
    startLive();
  }

  async function loadTimeline() {
    const s = page.stream;
    const tl = JSON.parse(await api(`/v1/timeline/${aggPath(s)}`));
    if (page.stream !== s) return;
    page.timeline = tl;
    renderTimeline();
  }

  function renderTimeline() {
    const tl = page.timeline;
    const events = tl.events || [];
    const first = events[0], last = events[events.length - 1];
    $("stream-meta").textContent = events.length
      ? `${events.length} event${events.length === 1 ? "" : "s"} · ${fmtTime(first.storedAt)} → ${fmtTime(last.storedAt)}`
      : "no events";
    $("event-count").textContent = `${events.length}`;
    const slider = $("slider");
    // Version 0 is the state before the first event, where a time before
    // it lands; each event's tick sits where the slider stops for it.
    slider.min = 0;
    slider.max = tl.version;
    slider.disabled = tl.version < 1;

    $("ticks").replaceChildren(...events.map((e, i) => {
      const pos = tl.version > 0 ? (e.version / tl.version) * 100 : 0;
      return el("span", { class: "tick", title: `v${e.version} ${e.type}`, "data-version": e.version,
        style: `left:${pos}%;--h:${hue(e.type)}` });
    }));

    $("events").replaceChildren(...events.map((e) => el("li", { "data-version": e.version, style: `--h:${hue(e.type)}` },
      el("div", { class: "ev-line" },
        el("span", { class: "ev-v", textContent: `v${e.version}` }),
        el("span", { class: "ev-type", textContent: e.type }),
        el("time", { class: "ev-time", dateTime: e.storedAt, textContent: shortFmt.format(new Date(e.storedAt)), title: fmtTime(e.storedAt) })),
      el("div", { class: "ev-changes", textContent: (e.changes || []).map((c) => c.path || "state").join(", ") || "no field changed" }),
      el("div", { class: "ev-data", textContent: JSON.stringify(e.data) }))));
    markCurrent();
  }

  function markCurrent() {
    const v = page.version;
    for (const li of $("events").children) {
      const lv = Number(li.dataset.version);
      li.classList.toggle("current", lv === v);
      li.classList.toggle("future", lv > v);
    }
    for (const t of $("ticks").children) {
      const tv = Number(t.dataset.version);
      t.classList.toggle("current", tv === v);
      t.classList.toggle("future", tv > v);
    }
  }

  function eventAt(v) {
    return page.timeline && (page.timeline.events || []).find((e) => e.version === v);
  }

  // goTo shows the state after version v (or, with at, as of a time: the
  // server says which version that is).
  async function goTo(v, at) {
    const s = page.stream;
    const seq = ++page.seq;
    if (!at) showPoint(v);
    const query = at ? `at=${enc(at)}` : `version=${v}`;
    let text;
    try {
      text = await api(`/v1/state/${aggPath(s)}?${query}`);
    } catch (err) {
      if (seq === page.seq) toast(`Could not load the state: ${err.message}`, "error");
      return;
    }
    if (seq !== page.seq || page.stream !== s) return; // a newer move won
    const answer = parseOrdered(text);
    const version = Number(literal(field(answer, "version")));
    if (at) showPoint(version, at);
    renderState(answer, version, literal(field(answer, "at")));
  }

  // showPoint moves the slider, the list and the labels to version v at
  // once, before the state arrives, so that dragging feels immediate.
  function showPoint(v, asOf) {
    page.version = v;
    $("slider").value = v;
    const head = page.timeline ? page.timeline.version : v;
    const e = eventAt(v);
    $("point").replaceChildren(...[
      el("strong", { textContent: `Version ${v}` }), ` of ${head}`,
      e ? el("span", { class: "point-ev", style: `--h:${hue(e.type)}`, textContent: e.type }) : null,
      e ? el("span", { class: "muted", textContent: fmtTime(e.storedAt) }) : el("span", { class: "muted", textContent: "before the first event" }),
      asOf ? el("span", { class: "as-of", textContent: `the last event at or before ${fmtTime(asOf)}` }) : null,
    ].filter((c) => c !== null));
    // A time picked stays in the picker; a version moved to puts its
    // event's time there, ready to be adjusted.
    if (e && !asOf) $("time").value = localInput(e.storedAt);
    markCurrent();
    const li = $("events").querySelector(`li[data-version="${v}"]`);
    if (li) li.scrollIntoView({ block: "nearest" });
    history.replaceState(null, "", `#${page.stream.name}@${v}`);
  }

  // ---------- the state ----------

  // lastChanges maps each path to the last event up to version v that
  // changed it (or a field above or below it).
  function changesUpTo(v) {
    const out = [];
    for (const e of (page.timeline.events || [])) {
      if (e.version > v) break;
      for (const c of (e.changes || [])) out.push({ path: c.path, event: e });
    }
    return out;
  }

  const covers = (changePath, path) => changePath === path || changePath === "" ||
    path.startsWith(changePath + ".");

  function renderState(answer, version, at) {
    $("view").dataset.version = String(version);
    $("state-version").textContent = String(version);
    const ev = eventAt(version);
    const current = ev ? (ev.changes || []) : [];
    const past = page.timeline ? changesUpTo(version) : [];

    // The event that made this state, and what it removed (a removed field
    // is not in the state to highlight).
    $("state-at").replaceChildren(...(ev ? [
      "after ",
      el("span", { class: "point-ev", style: `--h:${hue(ev.type)}`, textContent: `v${ev.version} ${ev.type}` }),
      ` ${fmtTime(at || ev.storedAt)}`,
    ] : ["the initial state, before any event"]));
    const removed = current.filter((c) => c.to === null);
    $("changed-by").hidden = removed.length === 0;
    $("changed-by").replaceChildren(...removed.map((c) =>
      el("div", { class: "removed" }, `${c.path} removed `, el("span", { class: "muted", textContent: `(was ${shorten(compact(c.from), 80)})` }))));

    const lines = [];
    toLines(field(answer, "state"), "", null, 0, true, lines);
    $("state-json").replaceChildren(...lines.map((ln) => {
      const own = ln.path === null ? [] : current.filter((c) => covers(c.path, ln.path));
      let tag = null;
      if (ln.leaf && ln.path !== null) {
        let last = null;
        for (const h of past) if (covers(h.path, ln.path) || h.path.startsWith(ln.path + ".")) last = h.event;
        if (last) {
          const exact = own.find((c) => c.path === ln.path);
          const note = own.length ? (exact && exact.from !== null && exact.from !== undefined ? ` · was ${shorten(compact(exact.from), 24)}` : " · new") : "";
          tag = el("span", { class: "tag", style: `--h:${hue(last.type)}`, textContent: `v${last.version} ${last.type}${note}`,
            title: `last changed by v${last.version} ${last.type}, ${fmtTime(last.storedAt)}` });
        }
      }
      return el("div", { class: "ln" + (own.length ? " hot" : "") + (ln.close ? " close" : ""), "data-path": ln.path ?? "" },
        el("span", { class: "code" }, ...ln.parts), tag);
    }));
    // Bring what changed into view when it lies outside the pane.
    const box = $("state-json");
    const hot = box.querySelectorAll(".ln.hot");
    if (hot.length) {
      const first = hot[0].offsetTop, last = hot[hot.length - 1].offsetTop + hot[hot.length - 1].offsetHeight;
      if (first < box.scrollTop || last > box.scrollTop + box.clientHeight) {
        box.scrollTop = Math.max(0, Math.min(first - 24, last - box.clientHeight + 24));
      }
    }
  }

  // toLines renders a node as pretty-printed JSON, one entry per line
  // (two-space indent, like JSON.stringify(v, null, 2)), each line knowing
  // the path of the field it shows.
  function toLines(node, path, key, depth, last, out) {
    const pad = "  ".repeat(depth);
    const keyParts = key === null ? [] : [el("span", { class: "k", textContent: JSON.stringify(key) }), ": "];
    const comma = last ? "" : ",";
    if (node.t === "v") {
      out.push({ path, leaf: true, parts: [pad, ...keyParts, el("span", { class: "v " + kind(node.s), textContent: node.s }), comma] });
      return;
    }
    const [open, close] = node.t === "o" ? ["{", "}"] : ["[", "]"];
    if (node.e.length === 0) {
      out.push({ path, leaf: true, parts: [pad, ...keyParts, open + close, comma] });
      return;
    }
    out.push({ path: key === null && depth === 0 ? null : path, leaf: false, parts: [pad, ...keyParts, open] });
    node.e.forEach((entry, i) => {
      const [k, child] = node.t === "o" ? entry : [String(i), entry];
      const childPath = path === "" ? k : `${path}.${k}`;
      toLines(child, childPath, node.t === "o" ? k : null, depth + 1, i === node.e.length - 1, out);
    });
    out.push({ path: key === null && depth === 0 ? null : path, leaf: false, close: true, parts: [pad, close, comma] });
  }

  function kind(s) {
    if (s[0] === '"') return "str";
    if (s === "true" || s === "false") return "bool";
    if (s === "null") return "null";
    return "num";
  }

  // ---------- live ----------

  function setLive(state, text) {
    $("live").dataset.state = state;
    $("live-text").textContent = text;
  }

  function stopLive() {
    if (page.live) page.live.abort();
    page.live = null;
    setLive("idle", "not following");
  }

  // startLive long-polls the stream through the Durable Streams endpoint
  // from the offset after its last event; each answer is a JSON array of
  // event envelopes ({type, id, version, timestamp, data}) and its
  // Stream-Next-Offset header is where to ask next.
  function startLive() {
    stopLive();
    const s = page.stream;
    const events = page.timeline.events || [];
    let offset = events.length ? events[events.length - 1].offset : "-1";
    const ctrl = new AbortController();
    page.live = ctrl;
    (async () => {
      let failures = 0;
      while (!ctrl.signal.aborted) {
        setLive(failures ? "error" : "live", failures ? "reconnecting…" : "live");
        try {
          const resp = await fetch(`/v1/stream/${streamPath(s.name)}?offset=${enc(offset)}&live=long-poll`, authed({ signal: ctrl.signal, cache: "no-store" }));
          if (resp.status !== 200 && resp.status !== 204) throw new Error(`${resp.status} ${resp.statusText}`);
          const next = resp.headers.get("Stream-Next-Offset");
          const body = resp.status === 200 ? await resp.text() : "";
          if (next) offset = next;
          failures = 0;
          const envelopes = body ? JSON.parse(body) : [];
          if (envelopes.length) await onNewEvents(s, envelopes);
        } catch (err) {
          if (ctrl.signal.aborted) return;
          failures++;
          setLive("error", "reconnecting…");
          await new Promise((r) => setTimeout(r, Math.min(1000 * failures, 5000)));
        }
      }
    })();
  }

  async function onNewEvents(s, envelopes) {
    if (page.stream !== s) return;
    const wasAtHead = page.version === page.timeline.version;
    await loadTimeline();
    if (page.stream !== s) return;
    const head = page.timeline.version;
    const info = page.streams.find((x) => x.name === s.name);
    const lastEv = page.timeline.events[page.timeline.events.length - 1];
    if (info && lastEv) { info.version = head; info.storedAt = lastEv.storedAt; info.offset = lastEv.offset; renderStreams(); }
    for (const env of envelopes) {
      const li = $("events").querySelector(`li[data-version="${env.version}"]`);
      if (li) li.classList.add("arrived");
    }
    const types = envelopes.map((e) => e.type).join(", ");
    if (wasAtHead) {
      await goTo(head);
      toast(`New: ${types}`, "live");
    } else {
      markCurrent();
      toast(`New: ${types}. Press Latest to see it.`, "live");
    }
  }

  // ---------- wiring ----------

  function step(d) {
    if (!page.timeline) return;
    const slider = $("slider");
    const v = Math.min(Math.max(page.version + d, Number(slider.min)), Number(slider.max));
    if (v !== page.version) goTo(v);
  }

  function wire() {
    $("stream-list").addEventListener("click", onStreamClick);
    $("stream-list").addEventListener("keydown", (ev) => { if (ev.key === "Enter") onStreamClick(ev); });
    $("filter").addEventListener("input", () => renderStreams(true));
    $("filter").addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      const first = $("stream-list").querySelector("li[data-stream]");
      if (first) openStream(first.dataset.stream);
    });
    $("category").addEventListener("change", () => { page.category = $("category").value; $("filter").value = ""; loadStreams(); });
    $("slider").addEventListener("input", () => goTo(Number($("slider").value)));
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    $("go-head").addEventListener("click", () => page.timeline && goTo(page.timeline.version));
    $("events").addEventListener("click", (ev) => {
      const li = ev.target.closest("li[data-version]");
      if (li) goTo(Number(li.dataset.version));
    });
    $("ticks").addEventListener("click", (ev) => {
      const t = ev.target.closest("[data-version]");
      if (t) goTo(Number(t.dataset.version));
    });
    const goTime = () => {
      const value = $("time").value;
      if (!value || !page.stream) return;
      const t = new Date(value);
      if (isNaN(t)) { toast("Pick a date and a time.", "error"); return; }
      goTo(null, t.toISOString());
    };
    $("go-time").addEventListener("click", goTime);
    $("time").addEventListener("keydown", (ev) => { if (ev.key === "Enter") goTime(); });
    document.addEventListener("keydown", (ev) => {
      if (ev.target.closest("input, select, textarea")) return;
      if (ev.key === "ArrowLeft") { step(-1); ev.preventDefault(); }
      if (ev.key === "ArrowRight") { step(1); ev.preventDefault(); }
    });
  }

  // A link names a stream and a version: #orders/ord-1/events@3.
  function fromHash() {
    const h = decodeURIComponent(location.hash.slice(1));
    if (!h) return null;
    const at = h.lastIndexOf("@");
    const name = at > 0 ? h.slice(0, at) : h;
    const v = at > 0 ? Number(h.slice(at + 1)) : undefined;
    return { name, version: Number.isFinite(v) ? v : undefined };
  }

  async function main() {
    wire();
    const zone = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    $("zone").textContent = zone ? zone.value : "";
    const linked = fromHash();
    if (linked) page.category = linked.name.split("/")[0];
    await loadCategories();
    await loadStreams();
    if (linked) await openStream(linked.name, linked.version);
    document.body.dataset.ready = "true";
  }

  main();
})();
