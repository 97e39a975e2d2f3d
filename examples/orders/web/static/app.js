// The time-travel page. Plain JavaScript, no build step, no framework.
//
// Everything shown comes from the server: the streams (GET /v1/streams),
// a stream's events with the fields each changed (GET /v1/timeline), the
// state at a point (GET /v1/state, shown exactly as it answers, in the
// order and the spelling of its JSON), two points compared (GET /v1/diff),
// and new events (the Durable Streams endpoint, long-polled from the last
// offset seen). The page folds nothing itself: the fold is the aggregate's
// Go code, and the page must agree with the API and the CLI to the byte.
//
// The state pane never shows a state under another point's label: while
// a state loads, the pane says which version it is loading (and dims the
// one it still shows, labelled with its own version); if the load fails,
// the error takes the state's place.
//
// All data goes into the DOM as text (textContent, never innerHTML).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const page = {
    view: "streams",      // "streams", "search" or "projections"
    category: "orders",
    aggregates: [],       // the answer of /v1/aggregates
    streams: [],          // [{name, version, offset, storedAt, closed}]
    streamsTotal: null,   // the server's total, when it pages the list
    streamsNext: "",      // where the next page of the list starts
    stream: null,         // the stream picked: {name, category, id}
    timeline: null,       // {version}: the stream's head, once its timeline answered
    ev: [],               // the events loaded, by version - 1 (the timeline answers in pages)
    times: [],            // the store time of every version - 1, in ms (the timeline's axis)
    pages: new Map(),     // first version of a page asked for → its promise
    inflight: new Map(),  // "<stream>@<version>" → a state request on its way
    version: 0,           // the version the page is at
    at: null,             // the time asked for, when the point is a time
    shown: null,          // {version, text} of the state the pane shows
    states: new Map(),    // version → the state endpoint's answer (a past state never changes)
    stepping: null,       // the state request of a step on its way (stepState)
    seq: 0,               // numbers state requests; only the newest is shown
    openSeq: 0,           // numbers stream openings; only the newest is shown
    live: null,           // the AbortController of the long-poll loop
    tab: "state",
    diff: null,           // {from, to} as typed
    problem: null,        // {hash}: what the problem box says instead of a stream (showProblem)
    axis: null,           // {from, to}: the time window of the axis, in ms
    listTop: 0,           // where the page last scrolled the event list to
    utc: localStorage.getItem("rewind.utc") === "1",
  };

  // ---------- the token of a server with authentication ----------

  // A server with authentication wants a bearer token on every request.
  // The page takes it from the address's fragment (open the page as
  // /#token=...: a fragment never reaches a server or its logs), keeps it
  // in sessionStorage (this tab only, gone when it closes), removes it
  // from the address bar (keeping the rest of the fragment, a link to a
  // point), and asks for one once if an answer is 401.
  const TOKEN_KEY = "rewind.token";
  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    const rest = location.hash.slice(1).split("&").filter((p) => !p.startsWith("token=")).join("&");
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }
  takeToken();
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

  // ServerError is an error answer: its status and the endpoint's reason.
  class ServerError extends Error {
    constructor(status, reason) { super(reason); this.status = status; }
  }

  // api fetches path and returns the body's text; an error answer throws
  // a ServerError with the endpoint's {"error": "..."} reason, a server
  // that does not answer within 15 s an Error that says so.
  async function api(path, options) {
    const o = Object.assign({ signal: AbortSignal.timeout(15000) }, options);
    let resp;
    try {
      resp = await fetchAuthed(path, o);
    } catch (err) {
      if (err && err.name === "TimeoutError") throw new Error("the server did not answer within 15 s");
      throw new Error("the server cannot be reached");
    }
    const text = await resp.text();
    if (!resp.ok) {
      let reason = "";
      try { reason = JSON.parse(text).error || ""; } catch (_) { /* not JSON */ }
      throw new ServerError(resp.status, reason || `${resp.status} ${resp.statusText}`);
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
    return value();
  }

  const field = (node, key) => node && node.t === "o" ? (node.e.find(([k]) => k === key) || [])[1] : undefined;
  const literal = (node) => node && node.t === "v" ? JSON.parse(node.s) : null;

  // indented gives a node back as JSON text, indented by two spaces.
  function indented(node, depth) {
    depth = depth || 0;
    if (node.t === "v") return node.s;
    const [open, close] = node.t === "o" ? ["{", "}"] : ["[", "]"];
    if (!node.e.length) return open + close;
    const pad = "  ".repeat(depth + 1);
    const items = node.e.map((entry) => node.t === "o"
      ? `${pad}${JSON.stringify(entry[0])}: ${indented(entry[1], depth + 1)}`
      : `${pad}${indented(entry, depth + 1)}`);
    return `${open}\n${items.join(",\n")}\n${"  ".repeat(depth)}${close}`;
  }

  // ---------- formatting ----------

  let timeFmt, shortFmt, zoneName;
  function makeFormats() {
    const tz = page.utc ? { timeZone: "UTC" } : {};
    timeFmt = new Intl.DateTimeFormat(undefined, Object.assign({
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    }, tz));
    shortFmt = new Intl.DateTimeFormat(undefined, Object.assign({ month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }, tz));
    const zone = new Intl.DateTimeFormat(undefined, Object.assign({ timeZoneName: "short" }, tz)).formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    zoneName = zone ? zone.value : "";
  }
  makeFormats();
  const fmtTime = (iso) => iso ? timeFmt.format(new Date(iso)) : "–";
  // timeText is a time as text that follows the UTC switch by itself: the
  // switch formats every element with a data-time again (redrawTimes),
  // so that a list drawn once (a comparison's events, search results, a
  // rebuild's end) needs no redraw of its own.
  const timeText = (iso, cls) => el("span", { class: cls || "", "data-time": iso || "", textContent: fmtTime(iso) });

  // ago says how long ago a time was, compactly ("5 min ago", "3 d ago").
  function ago(iso) {
    const s = Math.max(0, (Date.now() - new Date(iso)) / 1000);
    if (s < 60) return "just now";
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    if (s < 86400 * 60) return `${Math.round(s / 86400)} d ago`;
    return `${Math.round(s / (86400 * 30))} mo ago`;
  }

  // inputTime gives a time as the datetime-local input holds it, in the
  // zone the page shows; inputValue reads the input back.
  function inputTime(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    if (page.utc) return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  const inputValue = (value) => new Date(page.utc ? value + "Z" : value);

  // hue gives each event type a colour of its own, the same on every load.
  function hue(type) {
    let h = 0;
    for (const ch of type) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return h % 360;
  }

  // el makes an element; every string child and textContent is text,
  // never markup.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "style") e.style.cssText = v;
      else if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  // present leaves out the children that are null or undefined: append
  // and replaceChildren, unlike el, would insert them as the text "null".
  const present = (...children) => children.filter((c) => c != null);

  const compact = (v) => v === undefined ? "–" : JSON.stringify(v);
  const shorten = (s, n) => s.length > n ? s.slice(0, n - 1) + "…" : s;

  let toastTimer = 0;
  function toast(message, kind) {
    const t = $("toast");
    t.textContent = message;
    t.dataset.kind = kind || "info";
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  // ---------- copy, download ----------

  async function copyText(text, what) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      // An origin that is not secure (http on a name) has no clipboard
      // API: copy through a selected text area.
      const ta = el("textarea", { value: text, style: "position:fixed;left:-9999px;top:0" });
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand("copy");
      ta.remove();
      if (!ok) { toast(`Could not copy ${what}.`, "error"); return; }
    }
    toast(`Copied ${what}.`);
  }

  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type: type || "application/json" }));
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---------- routing ----------

  // A link names a view or a point: #orders/ord-1/events@3 (a version),
  // #orders/ord-1/events@2026-12-04T15:00:00.000Z (a time), with
  // &tab=diff&from=1&to=3 or &tab=event; #search, #projections.
  function parseRoute(hash) {
    const raw = hash.replace(/^#/, "");
    if (!raw) return { view: "streams" };
    const [head, ...rest] = raw.split("&");
    const params = {};
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0) params[p.slice(0, eq)] = safeDecode(p.slice(eq + 1));
    }
    if (head === "search" || head === "projections") return { view: head, params };
    const at = head.lastIndexOf("@");
    const name = safeDecode(at > 0 ? head.slice(0, at) : head);
    const point = at > 0 ? safeDecode(head.slice(at + 1)) : "";
    const r = { view: "streams", name, params };
    if (/^\d+$/.test(point)) r.version = Number(point);
    else if (isTime(point)) r.at = point;
    else if (point) r.bad = point; // neither: said in place of a state (showBadPoint)
    return r;
  }

  // isTime reports whether a link's point is a time the server takes: RFC
  // 3339, as the page writes it (2026-12-04T15:00:00.000Z).
  const isTime = (s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s) && !Number.isNaN(Date.parse(s));

  function safeDecode(s) {
    try { return decodeURIComponent(s); } catch (_) { return s; }
  }

  const encName = (name) => name.split("/").map(enc).join("/");

  // routeHash is the fragment of what the page shows now.
  function routeHash() {
    if (page.view !== "streams") return "#" + page.view;
    if (page.problem) return page.problem.hash;
    if (!page.stream) return "";
    let h = "#" + encName(page.stream.name) + "@" + (page.at ? enc(page.at) : page.version);
    if (page.tab === "diff" && page.diff) h += `&tab=diff&from=${enc(page.diff.from)}&to=${enc(page.diff.to)}`;
    else if (page.tab === "event") h += "&tab=event";
    return h;
  }

  // setRoute writes the page's point into the address: push makes a new
  // history entry (a stream picked, a jump), otherwise the entry is
  // replaced (a slider dragged leaves one entry, not one per step).
  function setRoute(push) {
    clearTimeout(routeTimer);
    routeTimer = 0;
    const h = routeHash();
    if (h === location.hash || (h === "" && location.hash === "")) return;
    const url = h || location.pathname + location.search;
    page.routed = h;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  // setRouteLater replaces the address's point once the slider has been
  // still for a moment, as the list follows it (followLater): writing the
  // address costs a step of a drag a few milliseconds of the page's
  // thread, before the state it waits for can be drawn (and Chromium
  // ignores more than a few hundred writes in 10 s). A write of another
  // route (setRoute) or a move through the history (route)
  // comes first and takes its place.
  let routeTimer = 0;
  function setRouteLater() {
    clearTimeout(routeTimer);
    routeTimer = setTimeout(() => setRoute(false), 150);
  }

  // route shows what the address names: on a load, a link typed into an
  // open tab, Back and Forward.
  async function route() {
    clearTimeout(routeTimer);
    routeTimer = 0;
    takeToken(); // a link with a token pasted into an open tab
    page.routed = location.hash;
    const r = parseRoute(location.hash);
    if (r.view === "projections") { showView("projections"); return; }
    if (r.view === "search") { showView("search"); return; }
    showView("streams");
    if (!r.name) { closeStream(); return; }
    if (r.name.split("/").length < 2) { showProblem("Not a stream name", `"${r.name}" is not a stream name: a stream is <category>/<id>/events, such as orders/ord-00042/events.`, null, location.hash); return; }
    const tab = r.params.tab === "diff" || r.params.tab === "event" ? r.params.tab : "state";
    if (tab === "diff") page.diff = { from: r.params.from || "", to: r.params.to || "" };
    if (!page.stream || page.stream.name !== r.name || !page.timeline) {
      await openStream(r.name, r, false, tab);
      return;
    }
    if (page.problem) { // a name that was not a stream's, then Back
      clearProblem();
      $("view").hidden = false;
    }
    selectTab(tab, false);
    await goToPoint(r, false);
  }

  // showView shows one of the views; the streams' shows the stream picked
  // (loaded or loading), the problem that stands in its place, or the
  // invitation to pick one.
  function showView(view) {
    page.view = view;
    const problem = view === "streams" && !!page.problem;
    $("view").hidden = view !== "streams" || !page.stream || problem;
    $("empty").hidden = view !== "streams" || !!page.stream || problem;
    $("problem").hidden = !problem;
    $("search-view").hidden = view !== "search";
    $("projections-view").hidden = view !== "projections";
    for (const [id, v] of [["nav-streams", "streams"], ["nav-search", "search"], ["nav-projections", "projections"]]) {
      $(id).classList.toggle("active", view === v);
    }
    if (view === "projections") startProjections(); else stopProjections();
    if (view === "search") showSearch();
  }

  // ---------- streams ----------

  async function loadCategories() {
    let categories = ["orders"];
    try {
      const ans = JSON.parse(await api("/v1/aggregates"));
      page.aggregates = ans.aggregates || [];
      const found = page.aggregates.map((a) => a.category);
      if (found.length) categories = found;
    } catch (_) { /* a server without the list: orders only */ }
    const options = () => categories.map((c) => el("option", { value: c, textContent: c }));
    $("category").replaceChildren(...options());
    $("search-category").replaceChildren(...options());
    if (!categories.includes(page.category)) page.category = categories[0];
    $("category").value = page.category;
    $("search-category").value = page.category;
  }

  const PAGE_SIZE = 1000;
  const AUTO_PAGES = 5; // pages of the list loaded without asking

  // loadStreams lists the category's streams. A server that pages the
  // list (next, total) gives them in name order: the page loads up to
  // AUTO_PAGES pages at once and the rest on "More"; one that does not
  // gives them all, shown newest first.
  async function loadStreams(more) {
    const cat = page.category;
    let pages = 0;
    do {
      let path = `/v1/streams?category=${enc(cat)}&limit=${PAGE_SIZE}`;
      if (more || pages > 0) path += `&after=${enc(page.streamsNext)}`;
      else path += "&total=true";
      try {
        const ans = JSON.parse(await api(path));
        if (page.category !== cat) return;
        const got = (ans.streams || []).slice();
        const paged = "next" in ans;
        if (!paged) got.sort((a, b) => (b.storedAt || "").localeCompare(a.storedAt || ""));
        page.streams = more || pages > 0 ? page.streams.concat(got) : got;
        if (typeof ans.total === "number") page.streamsTotal = ans.total;
        else if (!more && pages === 0) page.streamsTotal = null;
        page.streamsNext = ans.next || "";
      } catch (err) {
        if (!more && pages === 0) page.streams = [];
        page.streamsNext = "";
        toast(`Could not list the streams: ${err.message}`, "error");
      }
      renderStreams();
      pages++;
    } while (page.streamsNext && pages < AUTO_PAGES);
  }

  const streamID = (name) => name.split("/")[1] || name;
  const MAX_LISTED = 500;

  // renderStreams draws the list; reveal scrolls the picked stream into
  // view (on a pick or a new filter, not when a live event updates a row).
  function renderStreams(reveal) {
    const q = $("filter").value.trim().toLowerCase();
    const matches = q ? page.streams.filter((s) => s.name.toLowerCase().includes(q)) : page.streams;
    const total = page.streamsTotal !== null && !q ? page.streamsTotal : null;
    $("stream-count").textContent = total !== null
      ? `${total.toLocaleString()} stream${total === 1 ? "" : "s"}`
      : `${matches.length.toLocaleString()} of ${(page.streamsTotal ?? page.streams.length).toLocaleString()}`;
    const items = matches.slice(0, MAX_LISTED).map((s) => {
      const li = el("li", { "data-stream": s.name, tabIndex: 0, title: `${s.name}\n${s.version} event${s.version === 1 ? "" : "s"}, the last ${fmtTime(s.storedAt)}` },
        el("span", { class: "sid", textContent: streamID(s.name) }),
        el("span", { class: "smeta", textContent: `${s.version.toLocaleString()} ev${s.storedAt ? " · " + ago(s.storedAt) : ""}` }));
      if (page.stream && page.stream.name === s.name) li.classList.add("selected");
      return li;
    });
    $("stream-list").replaceChildren(...items);
    const picked = $("stream-list").querySelector("li.selected");
    if (reveal === true && picked) picked.scrollIntoView({ block: "nearest" });
    let more = "";
    if (page.streamsNext) more = total !== null ? `${page.streams.length.toLocaleString()} of ${total.toLocaleString()} loaded` : "more on the server";
    else if (matches.length > items.length) more = `${(matches.length - items.length).toLocaleString()} more: type to narrow the list`;
    else if (!matches.length) more = "No stream matches.";
    $("stream-more").textContent = more;
    $("stream-next").hidden = !page.streamsNext;
  }

  function onStreamClick(ev) {
    const li = ev.target.closest("li[data-stream]");
    if (li) pickStream(li.dataset.stream);
  }

  function pickStream(name) {
    if (page.view !== "streams") showView("streams");
    openStream(name, {}, true, page.tab === "diff" ? "state" : page.tab);
  }

  // ---------- one stream ----------

  function closeStream() {
    clearProblem();
    page.stream = null;
    page.timeline = null;
    page.ev = [];
    page.times = [];
    stopLive();
    $("view").hidden = true;
    $("empty").hidden = page.view !== "streams";
    for (const li of document.querySelectorAll("#stream-list li.selected")) li.classList.remove("selected");
  }

  // showProblem puts a message where the stream would be: a stream that
  // does not exist, a server that cannot be reached. It stays there, with
  // its retry, when another view is shown and then the streams' again;
  // hash is the address of what could not be shown.
  function showProblem(title, text, retry, hash) {
    page.problem = { hash: hash || "" };
    if (page.view === "streams") { // not over a view picked while the stream loaded
      $("view").hidden = true;
      $("empty").hidden = true;
      $("problem").hidden = false;
    }
    $("problem-title").textContent = title;
    $("problem-text").textContent = text;
    $("problem-retry").hidden = !retry;
    page.retry = retry || null;
  }

  function clearProblem() {
    page.problem = null;
    page.retry = null;
    $("problem").hidden = true;
  }

  // openStream shows a stream at a point ({version} or {at}; its head
  // without one). push makes a new history entry.
  async function openStream(name, point, push, tab) {
    const parts = name.split("/");
    const mySeq = ++page.openSeq;
    page.stream = { name, category: parts[0], id: parts[1] };
    page.timeline = null;
    page.ev = [];
    page.times = [];
    page.pages = new Map();
    page.states = new Map();
    page.stepping = null;
    page.shown = null;
    page.axis = null;
    clearProblem();
    stopLive();
    for (const li of document.querySelectorAll("#stream-list li")) li.classList.toggle("selected", li.dataset.stream === name);
    const picked = $("stream-list").querySelector("li.selected");
    if (picked) picked.scrollIntoView({ block: "nearest" });
    $("empty").hidden = true;
    $("view").hidden = false;
    $("stream-name").textContent = name;
    $("stream-meta").textContent = "loading…";
    $("point").replaceChildren();
    $("events").replaceChildren();
    $("axis").replaceChildren();
    clearState("–");
    $("state-error").hidden = true;
    // The state of the point asked for (or of the head the list knows)
    // is asked for beside the timeline, not after it.
    const guess = point && point.at ? 0 : aroundOf(name, point);
    // Its answer is kept, so that the point drawn after the timeline
    // takes it from the cache rather than asking again.
    const opened = page.stream;
    if (guess > 0) stateText(opened, guess).then((text) => { if (page.stream === opened) page.states.set(guess, text); }).catch(() => {});
    try {
      await loadTimeline(aroundOf(name, point));
    } catch (err) {
      if (mySeq !== page.openSeq) return;
      page.timeline = null;
      const hash = openingHash(name, point);
      if (err.status === 404) {
        showProblem(`No stream ${name}`, `The server has no events in ${name}: check the name, or pick a stream from the list.`, null, hash);
      } else if (err.status === 400) {
        showProblem(`Cannot show ${name}`, err.message, null, hash);
      } else {
        showProblem(`Could not load ${name}`, err.message, () => openStream(name, point, false, tab), hash);
      }
      if (push) setRoute(true);
      return;
    }
    if (mySeq !== page.openSeq) return;
    selectTab(tab || "state", false);
    const head = page.timeline.version;
    await Promise.all([goToPoint(point || {}, push), ensureEvents(head, head)]);
    if (mySeq !== page.openSeq) return;
    startLive();
  }

  // openingHash is the address of a stream the page could not open, at
  // the point it was asked for (none: its head), never the point of the
  // stream shown before.
  function openingHash(name, point) {
    let h = "#" + encName(name);
    if (point && point.version !== undefined) h += "@" + point.version;
    else if (point && point.at) h += "@" + enc(point.at);
    else if (point && point.bad !== undefined) h += "@" + enc(point.bad);
    return h;
  }

  async function goToPoint(point, push) {
    if (!page.timeline) return;
    if (point.bad !== undefined) { showBadPoint(point.bad); return; }
    if (point.at) await goTo(null, point.at, push);
    else await goTo(point.version === undefined ? page.timeline.version : point.version, null, push);
    if (page.tab === "diff") runDiff(false);
  }

  const PAGE = 200; // events a timeline request asks for
  // FIRST is the events the first request of a stream asks for: the rows
  // around the point that the list draws (a screen and its margins), so
  // that the first paint waits for no more than it shows; the rest of
  // their page comes in PAGE-sized requests once the list is still.
  const FIRST = 64;

  // aroundOf is the version the first request should bring: the one
  // linked to, or the head the stream list knows of (the request says the
  // real one).
  function aroundOf(name, point) {
    if (point && point.version !== undefined) return point.version;
    if (point && point.at) return 1;
    const info = page.streams.find((x) => x.name === name);
    return info ? info.version : 1;
  }

  // loadTimeline asks for the page of events around version v and, with
  // it, the store time of every version (the axis); a server that answers
  // the whole timeline at once gives every event and their times.
  async function loadTimeline(v) {
    const s = page.stream;
    // Centred on the point, so that the rows after it are drawn at once
    // too; at the head (the usual pick) the rows before it.
    const known = (page.streams.find((x) => x.name === s.name) || {}).version || v;
    const from = Math.max(1, Math.min(v - FIRST / 2 + 1, known - FIRST + 1));
    const text = await api(`/v1/timeline/${aggPath(s)}?from=${from}&limit=${FIRST}&axis=true`).catch((err) => {
      // A version past the head is a 400 of a paged server: ask from 1.
      if (err.status === 400 && from > 1) return api(`/v1/timeline/${aggPath(s)}?limit=${FIRST}&axis=true`);
      throw err;
    });
    if (page.stream !== s) return;
    const tl = JSON.parse(text);
    takeTimeline(tl);
    // The answer stands for a page of the list only when it holds all of
    // one (a first request of FIRST events holds part of one, at most).
    const whole = tl.from && (tl.from - 1) % PAGE === 0 && ((tl.events || []).length >= PAGE || tl.next === null || tl.next === undefined);
    if (whole) page.pages.set(tl.from, Promise.resolve());
    renderTimeline();
  }

  // takeTimeline keeps a timeline answer's head, times and events.
  function takeTimeline(tl) {
    const events = tl.events || [];
    page.timeline = { version: tl.version };
    if (tl.axis && Array.isArray(tl.axis.ms)) {
      const times = new Array(tl.version);
      let t = Date.parse(tl.axis.start);
      for (let i = 0; i < tl.version; i++) { t += tl.axis.ms[i] || 0; times[i] = t; }
      page.times = times;
    } else if (!tl.from || (tl.from === 1 && (tl.next === null || tl.next === undefined))) {
      page.times = events.map((e) => Date.parse(e.storedAt)); // the whole timeline
    }
    if (page.ev.length < tl.version) page.ev.length = tl.version;
    for (const e of events) { e._t = Date.parse(e.storedAt); page.ev[e.version - 1] = e; }
  }

  // ensureEvents loads the pages that hold versions from to to (1-based),
  // then redraws what shows them.
  function ensureEvents(from, to) {
    const head = page.timeline ? page.timeline.version : 0;
    const s = page.stream;
    const waits = [];
    for (let v = Math.max(1, from); v <= Math.min(to, head); v++) {
      if (page.ev[v - 1]) continue;
      const first = Math.floor((v - 1) / PAGE) * PAGE + 1;
      if (!page.pages.has(first)) {
        page.pages.set(first, api(`/v1/timeline/${aggPath(s)}?from=${first}&limit=${PAGE}`).then((text) => {
          if (page.stream !== s) return;
          for (const e of JSON.parse(text).events || []) { e._t = Date.parse(e.storedAt); if (e.version <= page.ev.length) page.ev[e.version - 1] = e; }
          page.drawn = null;
          drawRows();
          drawAxis();
          // The point's line gets its event's type (a link to a version
          // of a page not loaded yet showed none).
          const pv = page.version;
          if (pv >= first && pv < first + PAGE && pv <= head && $("point").dataset.version === String(pv)) {
            $("point").replaceChildren(...pointLabel(pv, page.at));
          }
          // The state shown gets the tags of its page's events, unless
          // another is on its way (it brings them).
          if (page.shown && page.shown.version >= first && page.shown.version < first + PAGE && !$("view").dataset.loading) {
            renderState(parseOrdered(page.shown.text), page.shown.version, page.at, page.shown.text);
          }
          if (page.tab === "event") renderEventPane();
        }).catch(() => { page.pages.delete(first); }));
      }
      waits.push(page.pages.get(first));
      v = first + PAGE - 1;
    }
    return Promise.all(waits);
  }

  // wantEvents loads the pages of versions from to to once the list and
  // the slider have been still for a moment: a drag through a long stream
  // asks for the states it passes, not for every page of events.
  let wantTimer = 0;
  function wantEvents() {
    clearTimeout(wantTimer);
    wantTimer = setTimeout(() => {
      // What is in view (with the rows drawn around it), and the point.
      const box = $("events-box");
      const top = Math.floor(box.scrollTop / ROW) - 14, bottom = Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 15;
      ensureEvents(Math.max(1, top), bottom);
      if (page.version >= 1) ensureEvents(page.version, page.version);
    }, 150);
  }

  // stepState answers the state at version v for the step numbered seq,
  // one request at a time: a step made while another's request is on its
  // way waits for that answer (kept: it is a state the slider passed), and
  // only the newest of the steps that waited asks for its own; the others
  // answer null. A drag through a long stream asks for the states the
  // server has time to answer, not for every position the slider passes.
  async function stepState(s, v, seq) {
    while (page.stepping) {
      await page.stepping.catch(() => {});
      if (seq !== page.seq || page.stream !== s) return null;
    }
    const cached = page.states.get(v);
    if (cached !== undefined) return cached;
    const p = stateText(s, v).then((text) => {
      if (page.stream === s) page.states.set(v, text);
      return text;
    }).finally(() => { if (page.stepping === p) page.stepping = null; });
    page.stepping = p;
    return p;
  }

  // stateText answers the state endpoint's text at version v, sharing a
  // request already on its way for it.
  function stateText(s, v) {
    const key = `${s.name}@${v}`;
    let p = page.inflight.get(key);
    if (!p) {
      p = api(`/v1/state/${aggPath(s)}?version=${v}`);
      page.inflight.set(key, p);
      p.finally(() => page.inflight.delete(key)).catch(() => {});
    }
    return p;
  }

  function renderTimeline() {
    const tl = page.timeline;
    const n = tl.version, times = page.times;
    $("stream-meta").textContent = n
      ? `${n.toLocaleString()} event${n === 1 ? "" : "s"}` + (times.length ? ` · ${fmtTime(new Date(times[0]).toISOString())} → ${fmtTime(new Date(times[n - 1]).toISOString())}` : "")
      : "no events";
    $("event-count").textContent = n.toLocaleString();
    const slider = $("slider");
    // Version 0 is the state before the first event, where a time before
    // it lands.
    slider.min = 0;
    slider.max = n;
    slider.disabled = n < 1;
    markSteppers();
    renderEvents();
    drawAxis();
  }

  // placeChildren makes nodes the children of box, in order, touching as
  // few as it takes: the children not among nodes go first, so that a
  // kept child after a new or a removed one is not moved (a node moved
  // is taken out of the page and put back: styled and laid out again,
  // with its text, as a new one would be).
  function placeChildren(box, nodes) {
    const keep = new Set(nodes);
    for (let c = box.firstChild; c;) {
      const next = c.nextSibling;
      if (!keep.has(c)) c.remove();
      c = next;
    }
    let place = box.firstChild;
    for (const node of nodes) {
      if (node === place) { place = place.nextSibling; continue; }
      box.insertBefore(node, place);
    }
  }

  // ---------- the event list: only the rows in view are drawn ----------

  const ROW = 46; // px, the height of a row (app.css .events li)

  function renderEvents() {
    $("events").style.height = `${(page.timeline ? page.timeline.version : 0) * ROW}px`;
    page.drawn = null;
    drawRows();
  }

  function drawRows() {
    const box = $("events-box");
    const n = page.timeline ? page.timeline.version : 0;
    const top = box.scrollTop, height = box.clientHeight || 800;
    const from = Math.max(0, Math.floor(top / ROW) - 15);
    const to = Math.min(n, Math.ceil((top + height) / ROW) + 15);
    if (!page.drawn || page.drawn[0] !== from || page.drawn[1] !== to) {
      // When only the window moved, the rows still in it are kept (an
      // event's row never changes; a pending row is kept while its event
      // has not arrived): a step of the slider draws the rows it brings
      // into view, not all of them.
      const kept = new Map();
      if (page.drawn) for (const li of $("events").children) kept.set(Number(li.dataset.version), li);
      page.drawn = [from, to];
      const rows = [];
      let missing = false;
      for (let i = from; i < to; i++) {
        const li = kept.get(i + 1);
        if (li && li.classList.contains("pending") === !page.ev[i]) rows.push(li);
        else if (page.ev[i]) rows.push(eventRow(page.ev[i], i));
        else rows.push(pendingRow(i));
        if (!page.ev[i]) missing = true;
      }
      placeChildren($("events"), rows);
      if (missing) wantEvents(from + 1, to);
    }
    markRows();
  }

  function eventRow(e, i) {
    return el("li", { "data-version": e.version, style: `top:${i * ROW}px;--h:${hue(e.type)}` },
      el("div", { class: "ev-line" },
        el("span", { class: "ev-v", textContent: `v${e.version}` }),
        el("span", { class: "ev-type", textContent: e.type }),
        el("time", { class: "ev-time", dateTime: e.storedAt, textContent: shortFmt.format(new Date(e._t)), title: fmtTime(e.storedAt) })),
      el("div", { class: "ev-changes", textContent: (e.changes || []).map((c) => c.path || "state").join(", ") || "no field changed" }));
  }

  // pendingRow stands for an event whose page is on its way.
  function pendingRow(i) {
    return el("li", { "data-version": i + 1, class: "pending", style: `top:${i * ROW}px;--h:230` },
      el("div", { class: "ev-line" },
        el("span", { class: "ev-v", textContent: `v${i + 1}` }),
        el("span", { class: "ev-type muted", textContent: "loading…" }),
        page.times[i] !== undefined ? el("time", { class: "ev-time", textContent: shortFmt.format(new Date(page.times[i])) }) : null));
  }

  function markRows() {
    const v = page.version;
    for (const li of $("events").children) {
      const lv = Number(li.dataset.version);
      li.classList.toggle("current", lv === v);
      li.classList.toggle("future", lv > v);
    }
  }

  // revealCurrent scrolls the list so the current event is in view (the
  // top of the list at version 0).
  function revealCurrent() {
    const box = $("events-box");
    if (!page.timeline || !page.timeline.version) return;
    const i = page.version - 1;
    if (i < 0) { box.scrollTop = 0; page.listTop = 0; drawRows(); return; }
    const y = i * ROW;
    if (y < box.scrollTop || y + ROW > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, y - box.clientHeight / 2 + ROW / 2);
    }
    page.listTop = box.scrollTop;
    drawRows();
  }

  // ---------- the time axis ----------

  // The axis places each event at its store time: events close in time
  // share a column (3 px), drawn taller the more it holds, so a long,
  // bursty stream reads as where its events happened, not a solid bar.
  // The window zooms (wheel, + and −) and follows the current event.
  const COL = 3;

  function fullWindow() {
    const ts = page.times;
    if (!ts.length) return { from: 0, to: 1 };
    let from = ts[0], to = ts[ts.length - 1];
    if (to - from < 60000) { from -= 30000; to += 30000; }
    const pad = (to - from) * 0.01;
    return { from: from - pad, to: to + pad };
  }

  // showsAll reports whether the axis shows the whole stream (it has not
  // been zoomed into).
  function showsAll() {
    if (!page.axis) return true;
    const full = fullWindow();
    const slack = (full.to - full.from) * 1e-6;
    return page.axis.from <= full.from + slack && page.axis.to >= full.to - slack;
  }

  function drawAxis() {
    const box = $("axis");
    const W = box.clientWidth;
    if (!page.axis) page.axis = fullWindow();
    const { from, to } = page.axis;
    const span = to - from;
    const cols = new Map();
    const ts = page.times;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t < from || t > to) continue;
      const c = Math.floor(((t - from) / span) * (W - 1) / COL);
      const type = page.ev[i] ? page.ev[i].type : "";
      const b = cols.get(c);
      if (!b) cols.set(c, { c, n: 1, first: i + 1, last: i + 1, type });
      else { b.n++; b.last = i + 1; if (b.type !== type) b.type = ""; }
    }
    let max = 1;
    for (const b of cols.values()) max = Math.max(max, b.n);
    const ticks = [];
    for (const b of cols.values()) {
      const h = 6 + Math.round(16 * Math.log(1 + b.n) / Math.log(1 + max));
      ticks.push(el("span", {
        class: "tick", "data-first": b.first, "data-last": b.last, "data-n": b.n,
        style: `left:${b.c * COL}px;height:${h}px;--h:${b.type ? hue(b.type) : 230}`,
        title: b.n === 1 ? `v${b.first} ${b.type}`.trim() : `v${b.first}–v${b.last}: ${b.n} events`,
      }));
    }
    ticks.push(el("span", { id: "axis-cursor", class: "axis-cursor" }));
    box.replaceChildren(...ticks);
    box.dataset.width = String(W);
    box.dataset.from = String(from);
    box.dataset.to = String(to);
    $("axis-from").textContent = fmtTime(new Date(from).toISOString());
    $("axis-to").textContent = fmtTime(new Date(to).toISOString());
    markAxis();
  }

  function markAxis() {
    const box = $("axis");
    const v = page.version;
    for (const t of box.querySelectorAll(".tick")) {
      t.classList.toggle("current", Number(t.dataset.first) <= v && v <= Number(t.dataset.last));
      t.classList.toggle("future", Number(t.dataset.first) > v);
    }
    const cursor = $("axis-cursor");
    if (!cursor || !page.axis) return;
    const ts = page.times;
    const t = v >= 1 && v <= ts.length ? ts[v - 1] : (ts.length ? ts[0] : null);
    const { from, to } = page.axis;
    cursor.hidden = t === null || t < from || t > to;
    // The width the ticks were drawn for (the axis draws again when it
    // changes): reading clientWidth here would lay out the page mid-step.
    if (!cursor.hidden) cursor.style.left = `${((t - from) / (to - from)) * (Number(box.dataset.width) - 1)}px`;
  }

  // followOnAxis moves the window to the current event when it left it.
  function followOnAxis() {
    const t = page.times[page.version - 1];
    if (t === undefined || !page.axis) { markAxis(); return; }
    const { from, to } = page.axis;
    if (t >= from && t <= to) { markAxis(); return; }
    const half = (to - from) / 2;
    page.axis = { from: t - half, to: t + half };
    drawAxis();
  }

  function zoom(factor, centre) {
    if (!page.times.length) return;
    const full = fullWindow();
    const { from, to } = page.axis || full;
    const c = centre !== undefined ? centre : (page.times[page.version - 1] ?? page.times[0]);
    let span = Math.max(1000, Math.min((to - from) * factor, full.to - full.from));
    let nf = c - (c - from) * (span / (to - from));
    if (span >= full.to - full.from) nf = full.from;
    page.axis = { from: nf, to: nf + span };
    drawAxis();
  }

  // nearestVersion is the version whose store time is nearest t (the
  // last of those stored at that time).
  function nearestVersion(t) {
    const ts = page.times;
    let lo = 0, hi = ts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(ts[lo - 1] - t) <= Math.abs(ts[lo] - t)) lo--;
    while (lo + 1 < ts.length && ts[lo + 1] === ts[lo]) lo++;
    return lo + 1;
  }

  function axisTime(clientX) {
    const box = $("axis");
    const r = box.getBoundingClientRect();
    const { from, to } = page.axis;
    return from + ((clientX - r.left) / Math.max(1, r.width - 1)) * (to - from);
  }

  // ---------- moving through versions ----------

  const eventAt = (v) => v >= 1 ? page.ev[v - 1] : undefined;

  // goTo shows the state after version v (or, with at, as of a time: the
  // server says which version that is). push makes a history entry.
  async function goTo(v, at, push) {
    const s = page.stream;
    const seq = ++page.seq;
    const head = page.timeline.version;
    page.at = at || null;
    // The request goes out first (or waits for a step's on its way:
    // stepState), so that the server works while the page moves the
    // slider, the labels and the axis.
    let request = null;
    if (!at) {
      if (v > head || v < 0) { showNoVersion(v, head); setRoute(push); return; }
      const cached = page.states.get(v);
      if (cached === undefined) request = stepState(s, v, seq);
      showPoint(v, null, cached === undefined);
      if (push) setRoute(true); else setRouteLater();
      if (v >= 1 && !page.ev[v - 1]) wantEvents(v, v);
      if (cached !== undefined) { renderState(parseOrdered(cached), v, null, cached); return; }
      markLoading(`version ${v}`);
    } else {
      markLoading(`the state at ${fmtTime(at)}`);
    }
    let text;
    try {
      text = at ? await api(`/v1/state/${aggPath(s)}?at=${enc(at)}`) : await request;
    } catch (err) {
      if (seq === page.seq && page.stream === s) showStateError(at ? ["the state at ", timeText(at)] : `the state at version ${v}`, v, err);
      return;
    }
    if (seq !== page.seq || page.stream !== s) return; // a newer move won
    const answer = parseOrdered(text);
    const version = Number(literal(field(answer, "version")));
    if (at) { showPoint(version, at); setRoute(push); if (version >= 1 && !page.ev[version - 1]) ensureEvents(version, version); }
    else page.states.set(version, text);
    renderState(answer, version, literal(field(answer, "at")), text);
  }

  // showPoint moves the slider, the labels, the list and the axis to
  // version v at once, before the state arrives; with wait (a state on
  // its way) the list follows when the slider stops (followLater).
  function showPoint(v, asOf, wait) {
    page.version = v;
    $("slider").value = v;
    const t = v >= 1 ? page.times[v - 1] : undefined;
    $("point").dataset.version = String(v);
    $("point").replaceChildren(...pointLabel(v, asOf));
    // A time picked stays in the picker; a version moved to puts its
    // event's time there, ready to be adjusted.
    if (t !== undefined && !asOf) $("time").value = inputTime(t);
    markSteppers();
    if (wait) followLater(); else follow();
    if (page.tab === "event") renderEventPane();
  }

  // markSteppers disables ‹ at version 0 and › at the head, where they
  // have nowhere to go.
  function markSteppers() {
    const head = page.timeline ? page.timeline.version : 0;
    $("prev").disabled = !page.timeline || Math.min(page.version, head) <= 0;
    $("next").disabled = !page.timeline || page.version >= head;
  }

  // pointLabel is what the point's line says of version v: its event's
  // type once that event is loaded, and its time.
  function pointLabel(v, asOf) {
    const head = page.timeline ? page.timeline.version : v;
    const e = eventAt(v);
    const t = v >= 1 ? page.times[v - 1] : undefined;
    return [
      el("strong", { textContent: `Version ${v}` }), ` of ${head}`,
      e ? el("span", { class: "point-ev", style: `--h:${hue(e.type)}`, textContent: e.type }) : null,
      t !== undefined ? el("span", { class: "muted", textContent: fmtTime(new Date(t).toISOString()) })
        : v === 0 ? el("span", { class: "muted", textContent: "before the first event" }) : null,
      asOf ? el("span", { class: "as-of", textContent: `the last event at or before ${fmtTime(asOf)}` }) : null,
    ].filter((c) => c !== null);
  }

  // The list follows a step that waits for its state once the slider has
  // been still for 150 ms (as the pages of events wait, wantEvents): a
  // drag or a run of key presses through a long stream redraws the state,
  // the labels and the axis's cursor at each step, and scrolls the list
  // (new rows to build, lay out and paint, which the state's answer would
  // wait behind on two cores) once, where it stops. The rows already
  // drawn are marked at once.
  let followTimer = 0;
  function follow() {
    clearTimeout(followTimer);
    followTimer = 0;
    revealCurrent();
    followOnAxis();
  }
  function followLater() {
    markRows();
    followOnAxis();
    clearTimeout(followTimer);
    followTimer = setTimeout(follow, 150);
  }

  // showNoVersion says that a version past the stream's head (a link to
  // @99 of a 5-event stream) does not exist, in place of a state.
  function showNoVersion(v, head) {
    page.version = v;
    page.shown = null;
    $("slider").value = head;
    $("point").dataset.version = String(v);
    $("point").replaceChildren(el("strong", { textContent: `Version ${v}` }), " ",
      el("span", { class: "bad", textContent: `does not exist: this stream has ${head} event${head === 1 ? "" : "s"}` }));
    clearState(String(v));
    markSteppers();
    const go = el("button", { textContent: `Go to version ${head}, the latest` });
    go.addEventListener("click", () => goTo(head, null, true));
    showError($("state-error"), `There is no version ${v}: ${page.stream.name} has ${head} event${head === 1 ? "" : "s"} (versions 1 to ${head}).`, go);
    markRows();
    markAxis();
  }

  // showBadPoint says that a link's point (#orders/ord-1/events@abc) is
  // neither a version nor a time, in place of a state; the address stays
  // as typed until the slider moves.
  function showBadPoint(point) {
    const head = page.timeline.version;
    ++page.seq; // an answer on its way is no longer the point's
    page.version = head;
    page.at = null;
    page.shown = null;
    $("slider").value = head;
    $("point").dataset.version = "";
    $("point").replaceChildren(el("strong", { textContent: `“${point}”` }), " ",
      el("span", { class: "bad", textContent: "is neither a version nor a time" }));
    clearState("?");
    markSteppers();
    const go = el("button", { textContent: `Go to version ${head}, the latest` });
    go.addEventListener("click", () => goTo(head, null, true));
    const last = head >= 1 ? page.times[head - 1] : undefined;
    if (last !== undefined) $("time").value = inputTime(last); // not another stream's time
    const example = last !== undefined ? new Date(last).toISOString() : "2026-12-04T15:00:00.000Z";
    showError($("state-error"), `The address asks for “${point}” after the @: give a version (0 to ${head}) or a time in UTC, such as ${example}.`, go);
    markRows();
    markAxis();
  }

  // markLoading says the state shown is not the point's while the
  // point's is on its way: at once in the view's data, on the screen
  // (the pane dimmed, "loading …" beside its version) once it has taken
  // 100 ms, so that a quick step of the slider does not flash the pane
  // twice (and repaint it twice) for an answer that comes at once. The
  // pane's own label keeps the version it shows until the new state is
  // drawn.
  let loadingTimer = 0;
  function markLoading(what) {
    $("view").dataset.loading = "true";
    clearTimeout(loadingTimer);
    loadingTimer = setTimeout(() => {
      $("state-loading").hidden = false;
      $("state-loading").textContent = `· loading ${what}…`;
      $("pane-state").classList.add("stale");
    }, 100);
  }

  function unmarkLoading() {
    clearTimeout(loadingTimer);
    $("state-loading").hidden = true;
    $("pane-state").classList.remove("stale");
  }

  function clearState(versionLabel) {
    unmarkLoading();
    delete $("view").dataset.loading;
    $("view").dataset.version = "";
    $("state-version").textContent = versionLabel;
    $("state-json").replaceChildren();
    $("state-at").replaceChildren();
    $("changed-by").hidden = true;
  }

  // showError puts a message in box (text, or an array of text and
  // nodes), with an action (a button) after it when there is one.
  function showError(box, message, action) {
    box.hidden = false;
    box.replaceChildren(...present(el("span", {}, ...[].concat(message)), action));
  }

  // showStateError puts the error in the state's place: the pane never
  // keeps another version's state under this point.
  function showStateError(what, v, err) {
    page.shown = null;
    clearState(v === null ? "?" : String(v));
    $("view").dataset.error = "true";
    const retry = el("button", { textContent: "Try again" });
    retry.addEventListener("click", () => goTo(page.at ? null : page.version, page.at, false));
    showError($("state-error"), ["Could not load ", ...[].concat(what), `: ${err.message}.`], retry);
    if (!(err instanceof ServerError) && page.live) setLive("error", "reconnecting…");
  }

  // ---------- the state ----------

  // changesUpTo lists the changes of the events up to version v, each
  // with its event, oldest first: of the loaded events that run without a
  // gap back from v, so that the last change of a field listed is its
  // last change (a field last changed before them gets no tag).
  function changesUpTo(v) {
    let first = v;
    while (first >= 1 && page.ev[first - 1]) first--;
    const out = [];
    for (let u = first + 1; u <= v; u++) {
      const e = page.ev[u - 1];
      for (const c of (e.changes || [])) out.push({ path: c.path, event: e });
    }
    return out;
  }

  const covers = (changePath, path) => changePath === path || changePath === "" ||
    path.startsWith(changePath + ".");

  function renderState(answer, version, at, text) {
    page.shown = { version, text, node: field(answer, "state") };
    unmarkLoading();
    $("state-error").hidden = true;
    const view = $("view");
    delete view.dataset.loading;
    delete view.dataset.error;
    view.dataset.version = String(version);
    $("state-version").textContent = String(version);
    const ev = eventAt(version);
    const current = ev ? (ev.changes || []) : [];
    const past = changesUpTo(version);

    // The event that made this state, and what it removed (a removed field
    // is not in the state to highlight).
    // An event whose page has not arrived yet is named by its version
    // and its time (the axis has every version's) until it comes.
    const evAt = at || (ev ? ev.storedAt : version >= 1 && page.times[version - 1] !== undefined ? new Date(page.times[version - 1]).toISOString() : null);
    $("state-at").replaceChildren(...(ev ? [
      "after ",
      el("span", { class: "point-ev", style: `--h:${hue(ev.type)}`, textContent: `v${ev.version} ${ev.type}` }),
      ` ${fmtTime(evAt)}`,
    ] : version >= 1 ? [
      "after ",
      el("span", { class: "point-ev", style: "--h:230", textContent: `v${version}` }),
      evAt ? ` ${fmtTime(evAt)}` : "",
    ] : ["the initial state, before any event"]));
    const removed = current.filter((c) => c.to === null);
    $("changed-by").hidden = removed.length === 0;
    $("changed-by").replaceChildren(...removed.map((c) =>
      el("div", { class: "removed" }, `${c.path} removed `, el("span", { class: "muted", textContent: `(was ${shorten(compact(c.from), 80)})` }))));

    const lines = [];
    toLines(field(answer, "state"), "", null, 0, true, lines);
    // Each line is described first, then drawn only if the pane does not
    // already show a line just like it: a step of the slider changes a
    // few lines of a state, and redrawing only those spares the page the
    // building, styling and laying out of all the others.
    const box = $("state-json");
    const old = new Map();
    for (const node of box.children) {
      const same = old.get(node._line);
      if (same) same.push(node); else old.set(node._line, [node]);
    }
    // The last change of each path, and the last change under each path
    // (by the index in past): a line's last change is the last of its
    // path's, its parents' and its children's, found in a few look-ups,
    // not in a walk through all the changes for each line.
    const lastAt = new Map(), lastUnder = new Map();
    past.forEach((h, i) => {
      lastAt.set(h.path, i);
      for (let d = h.path.indexOf("."); d >= 0; d = h.path.indexOf(".", d + 1)) lastUnder.set(h.path.slice(0, d), i);
    });
    const lastChange = (path) => {
      let i = Math.max(lastAt.get(path) ?? -1, lastAt.get("") ?? -1, lastUnder.get(path) ?? -1);
      for (let d = path.indexOf("."); d >= 0; d = path.indexOf(".", d + 1)) i = Math.max(i, lastAt.get(path.slice(0, d)) ?? -1);
      return i >= 0 ? past[i].event : null;
    };
    const nodes = lines.map((ln) => {
      const own = ln.path === null ? [] : current.filter((c) => covers(c.path, ln.path));
      let tag = null;
      if (ln.leaf && ln.path !== null) {
        const last = lastChange(ln.path);
        if (last) {
          const exact = own.find((c) => c.path === ln.path);
          const note = own.length ? (exact && exact.from !== null && exact.from !== undefined ? ` · was ${shorten(compact(exact.from), 24)}` : " · new") : "";
          tag = { h: hue(last.type), text: `v${last.version} ${last.type}${note}`,
            title: `last changed by v${last.version} ${last.type}, ${fmtTime(last.storedAt)}` };
        }
      }
      const cls = "ln" + (own.length ? " hot" : "") + (ln.close ? " close" : "");
      const key = JSON.stringify([cls, ln.path, ln.parts, tag]);
      const reuse = old.get(key);
      if (reuse && reuse.length) return reuse.shift();
      const node = el("div", { class: cls, "data-path": ln.path ?? "" },
        el("span", { class: "code" }, ...drawParts(ln.parts)),
        tag && el("span", { class: "tag", style: `--h:${tag.h}`, textContent: tag.text, title: tag.title }));
      node._line = key;
      return node;
    });
    placeChildren(box, nodes);
    // Bring what changed into view when it lies outside the pane, with a
    // whole line at the top (never one cut in half).
    const hot = box.querySelectorAll(".ln.hot");
    if (hot.length) {
      const first = hot[0].offsetTop, last = hot[hot.length - 1].offsetTop + hot[hot.length - 1].offsetHeight;
      if (first < box.scrollTop || last > box.scrollTop + box.clientHeight) {
        const want = Math.max(0, Math.min(first - 2 * hot[0].offsetHeight, last - box.clientHeight + hot[0].offsetHeight));
        let top = 0;
        for (const ln of box.children) { if (ln.offsetTop > want) break; top = ln.offsetTop; }
        box.scrollTop = top;
      }
    } else if (box.scrollTop > 0) {
      let top = 0;
      for (const ln of box.children) { if (ln.offsetTop > box.scrollTop) break; top = ln.offsetTop; }
      box.scrollTop = top;
    }
  }

  // toLines renders a node as pretty-printed JSON, one entry per line
  // (two-space indent, like JSON.stringify(v, null, 2)), each line knowing
  // the path of the field it shows; its parts are text, or [class, text]
  // for a span (drawParts makes them nodes).
  function toLines(node, path, key, depth, last, out) {
    const pad = "  ".repeat(depth);
    const keyParts = key === null ? [] : [["k", JSON.stringify(key)], ": "];
    const comma = last ? "" : ",";
    if (node.t === "v") {
      out.push({ path, leaf: true, parts: [pad, ...keyParts, ["v " + kind(node.s), node.s], comma] });
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

  // drawParts makes the nodes of a line's parts: text, or [class, text]
  // for a span.
  const drawParts = (parts) => parts.map((p) => typeof p === "string" ? p : el("span", { class: p[0], textContent: p[1] }));

  function kind(s) {
    if (s[0] === '"') return "str";
    if (s === "true" || s === "false") return "bool";
    if (s === "null") return "null";
    return "num";
  }

  // ---------- tabs: state, compare, event ----------

  function selectTab(tab, route) {
    page.tab = tab;
    for (const t of ["state", "diff", "event"]) {
      $("tab-" + t).setAttribute("aria-selected", String(t === tab));
      $("pane-" + t).hidden = t !== tab;
    }
    if (tab === "event") renderEventPane();
    if (tab === "diff") {
      if (!page.diff || (!page.diff.from && !page.diff.to)) {
        page.diff = { from: String(Math.max(0, page.version - 1)), to: String(page.version) };
      }
      $("diff-from").value = page.diff.from;
      $("diff-to").value = page.diff.to;
      if (route) runDiff(true);
    }
    if (route) setRoute(true);
  }

  // A point typed in the compare form: a version (digits) or a time, as
  // the datetime picker or an RFC 3339 time writes it.
  function pointParam(s) {
    s = s.trim();
    if (/^v?\d+$/.test(s)) return s.replace(/^v/, "");
    const t = /[zZ]|[+-]\d\d:\d\d$/.test(s) ? new Date(s) : inputValue(s.replace(" ", "T"));
    if (isNaN(t)) throw new Error(`"${s}" is neither a version nor a time`);
    return t.toISOString();
  }

  async function runDiff(push) {
    if (!page.stream || !page.timeline) return;
    const s = page.stream;
    page.diff = { from: $("diff-from").value.trim(), to: $("diff-to").value.trim() };
    $("diff-error").hidden = true;
    $("diff-body").replaceChildren();
    $("diff-summary").textContent = "";
    let from, to;
    try {
      from = pointParam(page.diff.from);
      to = pointParam(page.diff.to);
    } catch (err) {
      showError($("diff-error"), err.message + ".");
      return;
    }
    if (push !== undefined) setRoute(push);
    const seq = (page.diffSeq = (page.diffSeq || 0) + 1);
    $("diff-summary").textContent = "comparing…";
    let d;
    try {
      d = JSON.parse(await api(`/v1/diff/${aggPath(s)}?from=${enc(from)}&to=${enc(to)}`));
    } catch (err) {
      if (seq !== page.diffSeq) return;
      $("diff-summary").textContent = "";
      showError($("diff-error"), `Could not compare: ${err.message}.`);
      return;
    }
    if (seq !== page.diffSeq || page.stream !== s) return;
    renderDiff(d);
  }

  function renderDiff(d) {
    const changes = d.changes || [], events = d.events || [];
    // The answer lists the first events in between and counts the rest.
    const total = events.length + (d.more || 0);
    $("diff-summary").textContent = `From version ${d.from.version} to version ${d.to.version}: ` +
      `${changes.length} field${changes.length === 1 ? "" : "s"} changed by ${total} event${total === 1 ? "" : "s"}`;
    $("pane-diff").dataset.from = String(d.from.version);
    $("pane-diff").dataset.to = String(d.to.version);
    const rows = changes.map((c) => el("tr", { "data-path": c.path },
      el("td", { class: "mono", textContent: c.path || "(the state)" }),
      el("td", { class: "mono was", textContent: c.from === null ? "–" : shorten(JSON.stringify(c.from), 200) }),
      el("td", { class: "mono now", textContent: c.to === null ? "(removed)" : shorten(JSON.stringify(c.to), 200) })));
    const table = el("table", { class: "table diff-table" },
      el("thead", {}, el("tr", {}, el("th", { textContent: "Field" }), el("th", { textContent: `v${d.from.version}` }), el("th", { textContent: `v${d.to.version}` }))),
      el("tbody", {}, ...rows));
    const list = el("ol", { class: "diff-events" }, ...events.slice(0, 500).map((e) => {
      const li = el("li", { "data-version": e.version, style: `--h:${hue(e.type)}` },
        el("span", { class: "ev-v", textContent: `v${e.version}` }), " ",
        el("span", { class: "point-ev", style: `--h:${hue(e.type)}`, textContent: e.type }), " ",
        timeText(e.storedAt, "muted"));
      return li;
    }));
    $("diff-body").replaceChildren(...present(changes.length ? table : el("p", { class: "muted", textContent: "No field differs." }),
      events.length ? el("h3", { textContent: "Events in between" }) : null, events.length ? list : null,
      total > 500 ? el("p", { class: "muted", textContent: `and ${total - 500} more` }) : null));
  }

  // ---------- the event pane ----------

  // renderEventPane shows the event of the current version as the
  // timeline gives it: id, offset, store time, command id, metadata, data.
  function renderEventPane() {
    const v = page.version;
    const e = eventAt(v);
    $("event-error").hidden = true;
    if (!e) {
      $("event-title").textContent = "Event";
      $("event-body").replaceChildren(el("p", { class: "muted", textContent: v === 0 ? "Version 0 is the state before the first event: no event made it."
        : v > (page.timeline ? page.timeline.version : 0) ? `No event has version ${v}.` : "Loading…" }));
      page.eventShown = null;
      return;
    }
    $("event-title").textContent = `Event v${e.version} ${e.type}`;
    const d = {};
    for (const k of ["version", "type", "offset", "storedAt", "id", "time", "commandId", "metadata", "data"]) if (e[k] !== undefined) d[k] = e[k];
    d.stream = page.stream.name;
    drawEvent(d, JSON.stringify(d, null, 2));
  }

  function drawEvent(d, text) {
    page.eventShown = text;
    const row = (k, v, mono) => v === undefined || v === null || v === "" ? null
      : el("div", { class: "kv" }, el("dt", { textContent: k }), el("dd", { class: mono ? "mono" : "", textContent: v }));
    const meta = d.metadata && typeof d.metadata === "object" ? Object.entries(d.metadata) : [];
    const stored = d.storedAt ? `${fmtTime(d.storedAt)} (${d.storedAt})` : "";
    const dataNode = parseOrdered(JSON.stringify(d.data === undefined ? null : d.data));
    const lines = [];
    toLines(dataNode, "", null, 0, true, lines);
    $("event-body").replaceChildren(
      el("dl", { class: "details" },
        row("Type", d.type), row("Version", String(d.version)), row("Stream", d.stream, true),
        row("Event id", d.id, true), row("Offset", d.offset, true), row("Stored", stored),
        row("Appended", d.time && d.time !== d.storedAt ? `${fmtTime(d.time)} (${d.time}, the producer's clock)` : ""),
        row("Command id", d.commandId, true),
        ...meta.map(([k, v]) => row(`meta: ${k}`, String(v), true))),
      el("h3", { textContent: "Data" }),
      el("div", { class: "json small-json" }, ...lines.map((ln) => el("div", { class: "ln" }, el("span", { class: "code" }, ...drawParts(ln.parts))))));
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

  // startLive follows the stream through the Durable Streams endpoint
  // from the offset after its last event; each answer is a JSON array of
  // event envelopes and its Stream-Next-Offset header is where to ask
  // next. After a failure it asks without waiting (a catch-up read that
  // answers at once) before it long-polls again, so the indicator says
  // "live" as soon as the server is back, not when a long-poll answers.
  function startLive() {
    stopLive();
    const s = page.stream;
    const last = page.ev[page.ev.length - 1];
    let offset = last ? last.offset : "-1";
    const ctrl = new AbortController();
    page.live = ctrl;
    setLive("live", "live");
    (async () => {
      let failures = 0;
      while (!ctrl.signal.aborted) {
        const probe = failures > 0;
        try {
          const signal = probe ? AbortSignal.any([ctrl.signal, AbortSignal.timeout(4000)]) : ctrl.signal;
          const url = `/v1/stream/${streamPath(s.name)}?offset=${enc(offset)}` + (probe ? "" : "&live=long-poll");
          const resp = await fetch(url, authed({ signal, cache: "no-store" }));
          if (resp.status !== 200 && resp.status !== 204) throw new Error(`${resp.status} ${resp.statusText}`);
          const next = resp.headers.get("Stream-Next-Offset");
          const body = resp.status === 200 ? await resp.text() : "";
          if (next) offset = next;
          failures = 0;
          setLive("live", "live");
          const envelopes = body ? JSON.parse(body) : [];
          if (envelopes.length) await onNewEvents(s, envelopes);
        } catch (err) {
          if (ctrl.signal.aborted) return;
          failures++;
          setLive("error", "reconnecting…");
          await new Promise((r) => setTimeout(r, Math.min(500 * failures, 2000)));
        }
      }
    })();
  }

  async function onNewEvents(s, envelopes) {
    if (page.stream !== s) return;
    const wasAtHead = page.version === page.timeline.version && !page.at;
    const box = $("events-box");
    const keep = box.scrollTop;
    const was = page.timeline.version;
    const tl = JSON.parse(await api(`/v1/timeline/${aggPath(s)}?from=${was + 1}&limit=${PAGE}&axis=true`));
    if (page.stream !== s) return;
    // An axis that showed the whole stream grows to the new events; one
    // the user zoomed into keeps its window (followOnAxis moves it to the
    // point when the point leaves it).
    const all = showsAll();
    takeTimeline(tl);
    if (all) page.axis = fullWindow();
    renderTimeline();
    box.scrollTop = keep;
    drawRows();
    const head = page.timeline.version;
    const info = page.streams.find((x) => x.name === s.name);
    const lastEv = page.ev[head - 1];
    if (info && lastEv) { info.version = head; info.storedAt = lastEv.storedAt; info.offset = lastEv.offset; renderStreams(); }
    const types = envelopes.map((e) => e.type).join(", ");
    if (wasAtHead) {
      await goTo(head, null, false);
      toast(`New: ${types}`, "live");
    } else {
      markRows();
      markAxis();
      // The point's line says the new total (not over a point that is
      // not a version, which says so).
      if ($("point").dataset.version === String(page.version) && page.version <= head) {
        $("point").replaceChildren(...pointLabel(page.version, page.at));
      }
      toast(`New: ${types}. Press Latest to see it.`, "live");
    }
    for (const env of envelopes) {
      const li = $("events").querySelector(`li[data-version="${env.version}"]`);
      if (li) li.classList.add("arrived");
    }
  }

  // ---------- search ----------

  function showSearch() {
    $("search-category").value = page.category;
    $("search-field").hidden = $("search-kind").value !== "field";
  }

  // runSearch asks GET /v1/search, which looks at a bounded number of
  // events a request: the page follows its cursor until it found a page
  // of events or reached the category's end, showing what it found so
  // far; "More" goes on from there.
  async function runSearch(more) {
    const cat = $("search-category").value;
    const kind = $("search-kind").value;
    const q = $("search-q").value.trim();
    if (!q) return;
    let query = `category=${enc(cat)}&limit=50&`;
    if (kind === "field") query += `field=${enc($("search-field").value.trim())}&value=${enc(q)}`;
    else query += `${kind}=${enc(q)}`;
    const seq = (page.searchSeq = (page.searchSeq || 0) + 1);
    $("search-error").hidden = true;
    if (!more) { $("search-results").replaceChildren(); page.searchCursor = ""; page.searchScanned = 0; }
    $("search-more").hidden = true;
    let found = 0, end = false;
    const began = performance.now();
    for (let requests = 0; requests < 100 && !end && found < 50; requests++) {
      $("search-summary").textContent = `searching… ${page.searchScanned.toLocaleString()} events looked at`;
      let ans;
      try {
        ans = JSON.parse(await api(`/v1/search?${query}` + (page.searchCursor ? `&cursor=${enc(page.searchCursor)}` : "")));
      } catch (err) {
        if (seq !== page.searchSeq) return;
        $("search-summary").textContent = "";
        showError($("search-error"), `Could not search: ${err.message}.`);
        return;
      }
      if (seq !== page.searchSeq) return;
      const hits = ans.events || [];
      found += hits.length;
      page.searchCursor = ans.cursor || "";
      page.searchScanned += ans.scanned || 0;
      end = !!ans.end || !page.searchCursor;
      $("search-results").append(...hits.map((h) => el("li", { "data-stream": h.stream, "data-version": h.version, tabIndex: 0 },
        el("span", { class: "mono", textContent: `${h.stream}@${h.version}` }), " ",
        el("span", { class: "point-ev", style: `--h:${hue(h.type || "")}`, textContent: h.type || "" }), " ",
        timeText(h.storedAt, "muted"))));
    }
    const n = $("search-results").children.length;
    $("search-summary").textContent = `${n.toLocaleString()} event${n === 1 ? "" : "s"} found, ` +
      `${page.searchScanned.toLocaleString()} looked at${end ? " (the whole category)" : ""} in ${Math.round(performance.now() - began)} ms`;
    $("search-more").hidden = end;
  }

  function onSearchPick(ev) {
    const li = ev.target.closest("li[data-stream]");
    if (!li) return;
    page.view = "streams";
    showView("streams");
    openStream(li.dataset.stream, { version: Number(li.dataset.version) }, true, "event");
  }

  // ---------- projections ----------

  let projTimer = 0;
  const rebuilds = new Map(); // name → the last progress seen

  function startProjections() {
    stopProjections();
    const tick = async () => {
      await loadProjections();
      if (page.view === "projections") projTimer = setTimeout(tick, rebuildRunning() ? 500 : 2000);
    };
    tick();
  }

  function stopProjections() { clearTimeout(projTimer); projTimer = 0; }

  const rebuildRunning = () => [...rebuilds.values()].some((r) => r && r.running);

  async function loadProjections() {
    let ans;
    try {
      ans = JSON.parse(await api("/v1/projections"));
      $("projections-error").hidden = true;
    } catch (err) {
      showError($("projections-error"), `Could not list the projections: ${err.message}.`);
      return;
    }
    const list = ans.projections || [];
    await Promise.all(list.map(async (p) => {
      if (!rebuilds.has(p.name) || (rebuilds.get(p.name) && rebuilds.get(p.name).running)) {
        try { rebuilds.set(p.name, JSON.parse(await api(`/v1/projections/${enc(p.name)}/rebuild`))); } catch (_) { rebuilds.set(p.name, null); }
      }
    }));
    $("projections").tBodies[0].replaceChildren(...list.map((p) => {
      const r = rebuilds.get(p.name);
      const button = el("button", { textContent: "Rebuild", disabled: !!(r && r.running), "data-name": p.name });
      button.addEventListener("click", () => startRebuild(p.name));
      const lag = p.lagEvents === 0 ? "caught up" : `${(p.lagEvents || 0).toLocaleString()} commit${p.lagEvents === 1 ? "" : "s"} · ${Number(p.lagSeconds || 0).toFixed(1)} s`;
      return el("tr", { "data-name": p.name },
        el("td", { class: "mono", textContent: p.name }),
        el("td", {}, el("span", { class: "status", "data-status": p.status, textContent: p.status }),
          p.error ? el("div", { class: "bad small", textContent: p.error }) : null),
        el("td", { class: "mono small", textContent: p.position || "–" }),
        el("td", { textContent: lag }),
        el("td", { class: "rebuild-cell" }, button, rebuildProgress(r)));
    }));
  }

  function rebuildProgress(r) {
    if (!r || !r.started) return null;
    const pct = r.total > 0 ? Math.min(100, (100 * r.done) / r.total) : (r.running ? 0 : 100);
    const text = r.running
      ? [`${pct.toFixed(0)}% · ${Number(r.events || 0).toLocaleString()} events · ${Math.round(r.rate || 0).toLocaleString()}/s` + (r.etaSeconds ? ` · ${Math.ceil(r.etaSeconds)} s left` : "")]
      : r.error ? [`failed: ${r.error}`] : ["done ", timeText(r.finished), ` · ${Number(r.events || 0).toLocaleString()} events`];
    return el("div", { class: "progress-box" },
      el("progress", { max: 100, value: pct, class: "progress" }),
      el("span", { class: "small" + (r.error ? " bad" : " muted") }, ...text));
  }

  async function startRebuild(name) {
    try {
      await api(`/v1/projections/${enc(name)}/rebuild`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      rebuilds.set(name, { running: true, started: new Date().toISOString(), done: 0, total: 0 });
      toast(`Rebuilding ${name}…`);
    } catch (err) {
      toast(`Could not rebuild ${name}: ${err.message}`, "error");
    }
    startProjections();
  }

  // ---------- run a command ----------

  function commandsOf(category) {
    const a = page.aggregates.find((x) => x.category === category);
    if (!a) return [];
    if (a.commandTypes && a.commandTypes.length) return a.commandTypes;
    return (a.commands || []).map((c) => typeof c === "string" ? { name: c } : c);
  }

  function openCommandDialog() {
    if (!page.stream) return;
    const cmds = commandsOf(page.stream.category);
    $("command-title").textContent = `Run a command on ${page.stream.category}/${page.stream.id}`;
    $("command-type").replaceChildren(...cmds.map((c) => el("option", { value: c.name, textContent: c.name })));
    $("command-result").textContent = cmds.length ? "" : "The server lists no commands for this category.";
    drawCommandFields();
    $("command-dialog").showModal();
  }

  // drawCommandFields builds the form of the command picked from its JSON
  // schema (the properties /v1/aggregates describes); a command without
  // one takes its fields as JSON.
  function drawCommandFields() {
    const cmd = commandsOf(page.stream.category).find((c) => c.name === $("command-type").value);
    const props = cmd && cmd.schema && cmd.schema.properties ? cmd.schema.properties : null;
    const required = new Set((cmd && cmd.schema && cmd.schema.required) || []);
    if (!props) {
      $("command-fields").replaceChildren(el("label", { class: "wide" }, "Fields (JSON)",
        el("textarea", { id: "command-json", rows: 6, spellcheck: false, value: "{}" })));
      return;
    }
    // "type" is the command's name, which the form sends from its menu.
    $("command-fields").replaceChildren(...Object.entries(props).filter(([name]) => name !== "type").map(([name, p]) => {
      const t = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
      let input;
      if (Array.isArray(p.enum)) {
        input = el("select", {}, ...p.enum.map((v) => el("option", { value: String(v), textContent: String(v) })));
      } else if (t === "boolean") {
        input = el("input", { type: "checkbox" });
      } else if (t === "integer" || t === "number") {
        input = el("input", { type: "number", step: t === "integer" ? "1" : "any" });
        if (p.minimum !== undefined) input.min = p.minimum;
        if (p.maximum !== undefined) input.max = p.maximum;
      } else if (t === "string") {
        input = el("input", { type: "text" });
        if (p.maxLength) input.maxLength = p.maxLength;
      } else {
        input = el("textarea", { rows: 2, placeholder: "JSON", spellcheck: false });
      }
      input.dataset.field = name;
      input.dataset.kind = t || "json";
      input.required = required.has(name) && t !== "boolean";
      return el("label", {}, el("span", { class: "field-name", textContent: name + (required.has(name) ? " *" : "") }),
        input, p.description ? el("span", { class: "muted small", textContent: p.description }) : null);
    }));
  }

  async function sendCommand() {
    const type = $("command-type").value;
    let body = { type };
    try {
      const raw = $("command-json");
      if (raw) {
        const fields = JSON.parse(raw.value || "{}");
        if (!fields || typeof fields !== "object" || Array.isArray(fields)) throw new Error("the fields are a JSON object");
        body = Object.assign({}, fields, { type });
      } else {
        for (const input of $("command-fields").querySelectorAll("[data-field]")) {
          const k = input.dataset.kind, name = input.dataset.field;
          if (k === "boolean") { body[name] = input.checked; continue; }
          if (input.value === "") continue;
          if (k === "integer" || k === "number") body[name] = Number(input.value);
          else if (k === "string") body[name] = input.value;
          else body[name] = JSON.parse(input.value);
        }
      }
    } catch (err) {
      $("command-result").textContent = `Not sent: ${err.message}.`;
      $("command-result").dataset.kind = "error";
      return;
    }
    const s = page.stream;
    try {
      const ans = JSON.parse(await api(`/v1/commands/${aggPath(s)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": newKey() },
        body: JSON.stringify(body),
      }));
      const evs = (ans.events || []).map((e) => `v${e.version} ${e.type}`).join(", ");
      $("command-result").textContent = evs ? `Stored ${evs}.` : "Accepted: nothing to store.";
      $("command-result").dataset.kind = "ok";
    } catch (err) {
      $("command-result").textContent = `Refused (${err.status || "no answer"}): ${err.message}`;
      $("command-result").dataset.kind = "error";
    }
  }

  function newKey() {
    if (crypto.randomUUID) return "page-" + crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return "page-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // ---------- export as a test ----------

  async function exportTest() {
    if (!page.stream) return;
    const s = page.stream;
    const to = page.at ? page.at : String(page.version);
    try {
      const text = await api(`/v1/export/${aggPath(s)}?to=${enc(to)}`);
      download(`${s.id.replace(/[^A-Za-z0-9_-]/g, "_")}_v${page.version}_test.go`, text, "text/plain");
    } catch (err) {
      toast(`Could not export: ${err.message}`, "error");
    }
  }

  // ---------- wiring ----------

  function step(d) {
    if (!page.timeline) return;
    const head = page.timeline.version;
    const from = page.version > head ? head : page.version;
    const v = Math.min(Math.max(from + d, 0), head);
    if (v !== page.version) goTo(v, null, false);
  }

  // pointLink is a link to what the page shows, never with the token.
  const pointLink = () => location.origin + location.pathname + routeHash();

  function redrawTimes() {
    makeFormats();
    $("zone").textContent = zoneName;
    $("zone-switch").textContent = page.utc ? "UTC" : "Local";
    $("zone-switch").setAttribute("aria-pressed", String(page.utc));
    renderStreams();
    for (const e of document.querySelectorAll("[data-time]")) e.textContent = fmtTime(e.dataset.time);
    if (!page.timeline) return;
    renderTimeline();
    if (page.version > page.timeline.version) showNoVersion(page.version, page.timeline.version);
    else if ($("point").dataset.version !== "") showPoint(page.version, page.at); // not over a bad point's words
    if (page.shown) renderState(parseOrdered(page.shown.text), page.shown.version, page.at, page.shown.text);
  }

  function wire() {
    $("stream-list").addEventListener("click", onStreamClick);
    $("stream-list").addEventListener("keydown", (ev) => { if (ev.key === "Enter") onStreamClick(ev); });
    $("filter").addEventListener("input", () => {
      renderStreams(true);
    });
    $("filter").addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      const first = $("stream-list").querySelector("li[data-stream]");
      if (first) pickStream(first.dataset.stream);
    });
    $("stream-next").addEventListener("click", () => loadStreams(true));
    $("category").addEventListener("change", () => { page.category = $("category").value; $("filter").value = ""; loadStreams(false); });
    $("slider").addEventListener("input", () => goTo(Number($("slider").value), null, false));
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    $("go-head").addEventListener("click", () => page.timeline && goTo(page.timeline.version, null, true));
    $("events").addEventListener("click", (ev) => {
      const li = ev.target.closest("li[data-version]");
      if (li) goTo(Number(li.dataset.version), null, true);
    });
    $("events-box").addEventListener("scroll", () => {
      // The user scrolled the list while it waited to follow a step: where
      // the user scrolled wins (a scroll of the page's own is at listTop).
      if (followTimer && $("events-box").scrollTop !== page.listTop) { clearTimeout(followTimer); followTimer = 0; }
      requestAnimationFrame(drawRows);
    }, { passive: true });
    $("axis").addEventListener("click", (ev) => {
      if (!page.times.length) return;
        goTo(nearestVersion(axisTime(ev.clientX)), null, true);
    });
    $("axis").addEventListener("wheel", (ev) => {
      if (!page.times.length) return;
      ev.preventDefault();
      zoom(ev.deltaY > 0 ? 1.4 : 1 / 1.4, axisTime(ev.clientX));
    }, { passive: false });
    $("zoom-in").addEventListener("click", () => zoom(1 / 2));
    $("zoom-out").addEventListener("click", () => zoom(2));
    $("zoom-fit").addEventListener("click", () => { page.axis = fullWindow(); drawAxis(); });
    const goTime = () => {
      const value = $("time").value;
      if (!value || !page.stream) return;
      const t = inputValue(value);
      if (isNaN(t)) { toast("Pick a date and a time.", "error"); return; }
      goTo(null, t.toISOString(), true);
    };
    $("go-time").addEventListener("click", goTime);
    $("time").addEventListener("keydown", (ev) => { if (ev.key === "Enter") goTime(); });
    document.addEventListener("keydown", (ev) => {
      if (ev.target.closest("input, select, textarea, dialog") || page.view !== "streams") return;
      if (ev.key === "ArrowLeft") { step(-1); ev.preventDefault(); }
      if (ev.key === "ArrowRight") { step(1); ev.preventDefault(); }
      if (ev.key === "Home" && page.timeline) { goTo(0, null, false); ev.preventDefault(); }
      if (ev.key === "End" && page.timeline) { goTo(page.timeline.version, null, false); ev.preventDefault(); }
      if (ev.key === "+") zoom(1 / 2);
      if (ev.key === "-") zoom(2);
    });
    for (const t of ["state", "diff", "event"]) $("tab-" + t).addEventListener("click", () => selectTab(t, true));
    $("diff-form").addEventListener("submit", (ev) => { ev.preventDefault(); runDiff(true); });
    $("diff-body").addEventListener("click", (ev) => {
      const li = ev.target.closest("li[data-version]");
      if (li) { selectTab("state", false); goTo(Number(li.dataset.version), null, true); }
    });
    $("copy-state").addEventListener("click", () => page.shown && copyText(indented(page.shown.node), `the state at version ${page.shown.version}`));
    $("download-state").addEventListener("click", () => page.shown &&
      download(`${page.stream.id}-v${page.shown.version}.json`, indented(page.shown.node) + "\n"));
    $("copy-event").addEventListener("click", () => page.eventShown && copyText(page.eventShown, "the event"));
    $("download-event").addEventListener("click", () => page.eventShown &&
      download(`${page.stream.id}-event-v${page.version}.json`, page.eventShown + "\n"));
    $("copy-link").addEventListener("click", () => copyText(pointLink(), "a link to this point"));
    $("export-test").addEventListener("click", exportTest);
    $("run-command").addEventListener("click", openCommandDialog);
    $("command-type").addEventListener("change", drawCommandFields);
    $("command-form").addEventListener("submit", (ev) => {
      if (ev.submitter && ev.submitter.value === "cancel") return;
      ev.preventDefault();
      sendCommand();
    });
    $("problem-retry").addEventListener("click", () => page.retry && page.retry());
    $("zone-switch").addEventListener("click", () => {
      page.utc = !page.utc;
      localStorage.setItem("rewind.utc", page.utc ? "1" : "0");
      redrawTimes();
    });
    $("search-kind").addEventListener("change", showSearch);
    $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(false); });
    $("search-more").addEventListener("click", () => runSearch(true));
    $("search-results").addEventListener("click", onSearchPick);
    $("search-results").addEventListener("keydown", (ev) => { if (ev.key === "Enter") onSearchPick(ev); });
    $("nav-streams").addEventListener("click", (ev) => {
      ev.preventDefault();
      page.view = "streams";
      showView("streams");
      setRoute(true);
    });
    // A fragment typed into the address fires both popstate and
    // hashchange: the second finds the fragment routed already.
    window.addEventListener("popstate", () => { if (location.hash !== page.routed) route(); });
    window.addEventListener("hashchange", () => { if (location.hash !== page.routed) route(); });
    // The axis and the list draw for their size: again when it changes
    // (a window resized, a font loaded, a pane shown).
    let drawnWidth = 0;
    new ResizeObserver(() => {
      const w = $("axis").clientWidth;
      if (page.timeline && w !== drawnWidth) { drawnWidth = w; drawAxis(); }
    }).observe($("axis"));
    new ResizeObserver(() => { if (page.timeline) drawRows(); }).observe($("events-box"));
  }

  async function main() {
    wire();
    $("zone").textContent = zoneName;
    $("zone-switch").textContent = page.utc ? "UTC" : "Local";
    const linked = parseRoute(location.hash);
    if (linked.name) page.category = linked.name.split("/")[0];
    await loadCategories();
    await loadStreams(false);
    await route();
    document.body.dataset.ready = "true";
  }

  main();
})();
