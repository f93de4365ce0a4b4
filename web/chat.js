// The browser chat: asks POST /chat and renders its Server-Sent Events as they arrive.
// No framework, no build step, nothing fetched from elsewhere. Every piece of data is put on
// the page as text (textContent), never as HTML.
"use strict";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const TOKEN_KEY = "agent-bruno-token";
const state = { threadId: null, busy: false };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function setConnection(text, cls) {
  const badge = $("connection");
  badge.textContent = text;
  badge.className = "badge " + (cls || "");
}

function setMode(mode, fallback) {
  const badge = $("mode");
  if (fallback) {
    badge.textContent = "mode: fallback (" + fallback + ")";
    badge.className = "badge fallback";
  } else {
    badge.textContent = "mode: " + (mode === "builtin" ? "built-in" : mode || "–");
    badge.className = "badge";
  }
  badge.dataset.mode = fallback ? "fallback" : mode || "";
}

function ago(seconds) {
  if (seconds < 90) return Math.max(0, Math.round(seconds)) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " days ago";
}

// The newest time a tool result speaks of (latest reading, last heartbeat, last point).
function newestTime(value, depth) {
  if (depth > 6 || value === null || typeof value !== "object") return null;
  let best = null;
  for (const [key, v] of Object.entries(value)) {
    let t = null;
    if (typeof v === "number" && ["latest_ts", "last_seen", "last_ts", "ts"].includes(key)) t = v;
    else if (typeof v === "object") t = newestTime(v, depth + 1);
    if (t !== null && (best === null || t > best)) best = t;
  }
  return best;
}

function setFreshness(newest) {
  const badge = $("freshness");
  if (newest === null) {
    badge.textContent = "data: –";
    return;
  }
  const when = new Date(newest * 1000);
  badge.textContent = "data: " + when.toLocaleTimeString() + " (" + ago(Date.now() / 1000 - newest) + ")";
  badge.title = when.toISOString();
}

function findSeries(data) {
  const series = data && data.series;
  if (!Array.isArray(series)) return [];
  return series.filter((s) => Array.isArray(s.points) && s.points.length > 1);
}

function drawChart(series) {
  const W = 640, H = 220, L = 48, R = 10, T = 10, B = 24;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const shown = series.slice(0, COLORS.length);
  const all = shown.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p.ts)), t1 = Math.max(...all.map((p) => p.ts));
  let v0 = Math.min(...all.map((p) => p.mean)), v1 = Math.max(...all.map((p) => p.mean));
  if (v0 === v1) { v0 -= 1; v1 += 1; }
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - v0) / (v1 - v0)) * (H - T - B);
  const label = (text, px, py, anchor) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", px); t.setAttribute("y", py); t.setAttribute("text-anchor", anchor);
    t.textContent = text;
    svg.appendChild(t);
  };
  const unit = shown[0].unit || "";
  label(v1.toFixed(1) + " " + unit, L - 4, T + 8, "end");
  label(v0.toFixed(1) + " " + unit, L - 4, H - B, "end");
  label(new Date(t0 * 1000).toLocaleTimeString(), L, H - 6, "start");
  label(new Date(t1 * 1000).toLocaleTimeString(), W - R, H - 6, "end");
  const legend = el("div", "legend");
  shown.forEach((s, i) => {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLORS[i]);
    line.setAttribute("stroke-width", "1.5");
    line.setAttribute("points", s.points.map((p) => `${x(p.ts).toFixed(1)},${y(p.mean).toFixed(1)}`).join(" "));
    line.dataset.points = String(s.points.length);
    svg.appendChild(line);
    const key = el("span", null, `${s.location || ""} ${s.node || ""} ${s.sensor || ""} ${s.metric || ""}`.trim());
    key.style.color = COLORS[i];
    legend.appendChild(key);
  });
  const box = el("figure", "chart-box");
  box.appendChild(svg);
  box.appendChild(legend);
  return box;
}

// The first list of records in a tool's data, as a table of its plain columns.
function findRows(data) {
  if (!data || typeof data !== "object") return null;
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.length && typeof value[0] === "object" && value[0] !== null) {
      return { key, rows: value };
    }
  }
  return null;
}

function drawTable(found) {
  const rows = found.rows.slice(0, 50);
  const columns = Object.keys(rows[0])
    .filter((k) => rows.some((r) => ["string", "number", "boolean"].includes(typeof r[k])))
    .slice(0, 8);
  const table = el("table", "list");
  table.dataset.list = found.key;
  const head = table.createTHead().insertRow();
  columns.forEach((c) => head.appendChild(el("th", null, c)));
  const body = table.createTBody();
  rows.forEach((r) => {
    const row = body.insertRow();
    columns.forEach((c) => {
      const v = r[c];
      row.insertCell().textContent = typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v ?? "";
    });
  });
  const box = el("div", "table-box");
  box.appendChild(table);
  if (found.rows.length > rows.length) box.appendChild(el("p", "legend", `first 50 of ${found.rows.length}`));
  return box;
}

function parseEvents(buffer, onEvent) {
  // Split on blank lines; return what is left of an incomplete event.
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue; // a ping
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) {
      let payload;
      try { payload = JSON.parse(data.join("\n")); } catch { payload = { text: data.join("\n") }; }
      onEvent(name, payload);
    }
  }
  return rest;
}

function problemText(status, body) {
  if (body && typeof body === "object" && body.detail) return body.detail;
  return "the agent answered HTTP " + status;
}

function newTurn(question) {
  const turn = el("section", "turn");
  turn.appendChild(el("div", "question", question));
  const steps = el("ul", "steps");
  const answer = el("div", "answer");
  const extras = el("div", "extras");
  turn.append(steps, answer, extras);
  $("thread").appendChild(turn);
  turn.scrollIntoView({ block: "end" });
  return { turn, steps, answer, extras, newest: null, done: false };
}

function showError(view, message, retry) {
  const box = el("div", "error-box", message);
  box.setAttribute("role", "alert");
  if (retry) {
    const again = el("button", null, "Retry");
    again.type = "button";
    again.addEventListener("click", () => { box.remove(); retry(); });
    box.appendChild(again);
  }
  view.turn.appendChild(box);
}

function onEvent(view, name, data) {
  if (name === "status") {
    if (data.thread_id) state.threadId = data.thread_id;
    if (data.mode) setMode(data.mode, null);
    return;
  }
  if (name === "tool_call") {
    const item = el("li", "call", "→ " + data.name + " " + JSON.stringify(data.args || {}));
    item.dataset.id = data.id || "";
    view.steps.appendChild(item);
    return;
  }
  if (name === "tool_result") {
    const size = data.size !== undefined ? ` (${data.size})` : "";
    const item = el("li", "result " + (data.status === "error" ? "error" : ""),
      "← " + data.name + ": " + data.status + size + (data.error ? " — " + data.error : ""));
    view.steps.appendChild(item);
    const inner = data.data && data.data.data;
    const t = newestTime(inner, 0);
    if (t !== null && (view.newest === null || t > view.newest)) view.newest = t;
    const series = findSeries(inner);
    if (series.length) view.extras.appendChild(drawChart(series));
    else {
      const rows = findRows(inner);
      if (rows) view.extras.appendChild(drawTable(rows));
    }
    return;
  }
  if (name === "token") {
    view.answer.textContent += data.text || "";
    view.answer.dataset.tokens = String(Number(view.answer.dataset.tokens || 0) + 1);
    return;
  }
  if (name === "answer") {
    view.answer.textContent = data.answer || "";
    setMode(data.mode, data.fallback);
    return;
  }
  if (name === "error") {
    showError(view, "The agent failed: " + (data.message || "unknown error"));
    return;
  }
  if (name === "done") {
    view.done = true;
    if (data.thread_id) state.threadId = data.thread_id;
    setFreshness(view.newest);
    view.turn.dataset.done = "true";
  }
}

async function ask(question, view) {
  state.busy = true;
  $("ask").disabled = true;
  setConnection("asking…", "live");
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  if (token()) headers.Authorization = "Bearer " + token();
  const body = { question };
  if (state.threadId) body.thread_id = state.threadId;
  const retry = () => ask(question, view);
  try {
    const response = await fetch("chat", { method: "POST", headers, body: JSON.stringify(body) });
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch { /* not JSON */ }
      if (response.status === 401) {
        $("token-box").open = true;
        $("token").focus();
        showError(view, "The agent needs an API token: enter it above, then retry. (" + problemText(401, problem) + ")", retry);
      } else {
        showError(view, problemText(response.status, problem), response.status >= 500 ? retry : null);
      }
      setConnection("ready");
      return;
    }
    const thread = response.headers.get("X-Thread-Id");
    if (thread) state.threadId = thread;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (n, d) => onEvent(view, n, d));
    }
    if (!view.done) {
      setConnection("disconnected", "lost");
      showError(view, "The connection closed before the answer was complete.", retry);
      return;
    }
    setConnection("ready");
  } catch (err) {
    setConnection("disconnected", "lost");
    showError(view, "Cannot reach the agent (" + err.message + "). Check that it is running.", retry);
  } finally {
    state.busy = false;
    $("ask").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question || state.busy) return;
    $("question").value = "";
    ask(question, newTurn(question));
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token-state").textContent = token() ? "saved for this tab" : "cleared";
    $("token-box").open = false;
  });
  $("new-thread").addEventListener("click", () => {
    state.threadId = null;
    $("thread").replaceChildren();
    setMode(null, null);
    setFreshness(null);
  });
  $("token-state").textContent = token() ? "saved for this tab" : "none";
  $("question").focus();
});
