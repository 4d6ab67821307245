// The supervisor's pages. The wallboard: the live board (SSE, every second), listen / whisper / barge per call, the
// day's charts as inline SVG, the staffing calculator. The calls page: call records with a player per recording.
// Text from the server is always set as text, never as HTML.
"use strict";

(() => {
  const { api, listen, notify } = window.Console;
  const SVG = "http://www.w3.org/2000/svg";
  const STATE_LABELS = {
    available: "Available",
    offered: "Ringing",
    on_call: "On a call",
    wrap_up: "Wrap-up",
    paused: "Paused",
    unregistered: "Phone off",
    logged_out: "Logged out",
  };
  const SPY_MODES = [
    ["listen", "Listen", "Hear the call; nobody hears you"],
    ["whisper", "Whisper", "Talk to the operator only"],
    ["barge", "Barge", "Talk to both the operator and the caller"],
  ];

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node[key] = value;
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  const percent = (share) => (share === null || share === undefined ? "–" : `${(100 * share).toFixed(0)} %`);

  function fill(tbody, rows, columns, emptyText) {
    tbody.replaceChildren();
    if (!rows.length) {
      tbody.append(el("tr", { class: "empty" }, el("td", { colSpan: columns, class: "muted" }, emptyText)));
    }
    for (const row of rows) tbody.append(row);
  }

  // -- Queues: each measured figure shows its value, and its target underneath; past target it turns red. ---------
  function measured(field, measure, show, showTarget = show) {
    const cell = el("td", { class: measure.late ? "num late" : "num", "data-field": field });
    cell.append(el("span", { class: "value" }, show(measure.value)));
    cell.append(el("span", { class: "target" }, `target ${showTarget(measure.target)}`));
    if (measure.late) cell.title = "past target";
    return cell;
  }

  function queueRow(queue) {
    const f = queue.figures;
    // Before any call has ended there is no rate to show: a dash, not a misleading 0 %.
    const finished = (f.answered ?? 0) + (f.abandoned ?? 0) > 0;
    const rate = (show) => (value) => (finished ? show(value) : "–");
    const asa = (value) => ((f.answered ?? 0) > 0 ? duration(value) : "–");
    return el(
      "tr",
      { class: queue.late ? "late-row" : "", "data-queue": queue.name },
      el("th", { scope: "row" }, queue.name),
      measured("waiting", queue.waiting, (v) => String(v)),
      measured("longest_wait_s", queue.longest_wait_s, duration),
      measured("service_level", queue.service_level, rate(percent), percent),
      measured("asa_s", queue.asa_s, asa, duration),
      measured("abandon_rate", queue.abandon_rate, rate(percent), percent),
      el("td", { class: "num", "data-field": "offered" }, f.offered ?? 0),
      el("td", { class: "num", "data-field": "answered" }, f.answered ?? 0),
      el("td", { class: "num", "data-field": "occupancy" }, percent(f.occupancy)),
    );
  }

  // -- Operators and calls ----------------------------------------------------------------------------------------
  function operatorRow(op) {
    const state = STATE_LABELS[op.state] || op.state;
    const label = op.paused_reason && op.state === "paused" ? `${state}: ${op.paused_reason}` : state;
    const call = op.call ? `${op.call.queue || "direct"} · ${duration(op.call.seconds)}` : "";
    return el(
      "tr",
      { "data-operator": op.sip_user, "data-state": op.state },
      el("td", {}, op.name, el("span", { class: "muted small" }, ` ${op.sip_user}`)),
      el("td", {}, el("span", { class: `state state-${op.state}` }, label)),
      el("td", { class: "num" }, duration(op.seconds_in_state)),
      el("td", {}, call),
    );
  }

  async function spy(operator, mode, button) {
    button.disabled = true;
    try {
      const started = await api("POST", "/api/supervisor/spy", { operator, mode });
      notify(`Your phone is ringing: answer it to ${mode} on ${started.operator}'s call.`);
    } catch (err) {
      notify(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  function callRow(call, hasPhone) {
    const actions = el("td", { class: "spy-actions" });
    if (call.state === "talking" && call.operator) {
      for (const [mode, label, hint] of SPY_MODES) {
        const button = el("button", {
          type: "button",
          class: "small",
          title: hasPhone ? hint : "your account has no phone",
          disabled: !hasPhone,
          "data-mode": mode,
        }, label);
        button.addEventListener("click", () => spy(call.operator, mode, button));
        actions.append(button);
      }
    }
    const states = { waiting: "Waiting", ringing: "Ringing", talking: "Talking" };
    return el(
      "tr",
      { "data-call": call.uniqueid, "data-state": call.state },
      el("td", {}, call.queue || "direct"),
      el("td", {}, states[call.state] || call.state),
      el("td", {}, call.operator_name || ""),
      el("td", { class: "num" }, duration(call.seconds)),
      actions,
    );
  }

  function showBoard(board) {
    const status = document.getElementById("live-status");
    if (board.live.stale) {
      status.className = "badge bad";
      status.textContent = board.live.age_s === null ? "no live figures: is the platform running?" :
        `figures ${duration(board.live.age_s)} old: is the platform running?`;
    } else {
      status.className = board.live.ami_connected ? "badge ok" : "badge warn";
      status.textContent = board.live.ami_connected ? "live" : "live, Asterisk disconnected";
    }
    fill(document.querySelector("#queues tbody"), board.queues.map(queueRow), 9, "No live figures yet.");
    fill(document.querySelector("#operators tbody"), board.operators.map(operatorRow), 4, "No operator yet.");
    const summary = Object.entries(board.operators_by_state).map(([s, n]) => `${n} ${STATE_LABELS[s] || s}`);
    document.getElementById("operators-summary").textContent = summary.join(" · ");
    const hasPhone = document.getElementById("live-calls").dataset.hasPhone === "yes";
    const calls = board.calls.map((call) => callRow(call, hasPhone));
    fill(document.querySelector("#live-calls tbody"), calls, 5, "No call in progress.");
  }

  function unavailable(data) {
    const status = document.getElementById("live-status");
    status.className = "badge bad";
    status.textContent = (data && data.detail) || "live figures unavailable";
  }

  // -- Charts of the day: inline SVG, 24 hourly slots ------------------------------------------------------------
  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const CHART = { width: 720, height: 190, left: 40, right: 8, top: 10, bottom: 24 };

  function frame(maxY, format) {
    const root = svg("svg", { viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: "img", class: "chart-svg" });
    const plotH = CHART.height - CHART.top - CHART.bottom;
    for (const share of [0, 0.5, 1]) {
      const y = CHART.top + plotH * (1 - share);
      root.append(svg("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y, class: "grid-line" }));
      root.append(svg("text", { x: CHART.left - 4, y: y + 4, class: "axis", "text-anchor": "end" }, format(maxY * share)));
    }
    const slot = (CHART.width - CHART.left - CHART.right) / 24;
    for (let hour = 0; hour < 24; hour += 3) {
      const x = CHART.left + slot * (hour + 0.5);
      root.append(svg("text", { x, y: CHART.height - 6, class: "axis", "text-anchor": "middle" }, `${hour}h`));
    }
    return { root, slot, plotH };
  }

  // The axis top: 1, 2 or 5 times a power of ten, at least `floor`, so the half-way tick is a round number too.
  function niceCeiling(value, floor) {
    const top = Math.max(value, floor);
    const power = 10 ** Math.floor(Math.log10(top));
    return [1, 2, 5, 10].map((step) => step * power).find((nice) => nice >= top);
  }

  function barChart(container, hours, series, format, floor) {
    const maxY = niceCeiling(Math.max(0, ...hours.flatMap((h) => series.map((s) => h[s.key] || 0))), floor);
    const { root, slot, plotH } = frame(maxY, format);
    const width = (slot * 0.8) / series.length;
    hours.forEach((h, i) => {
      series.forEach((s, j) => {
        const value = h[s.key] || 0;
        const height = (plotH * value) / maxY;
        const bar = svg("rect", {
          x: CHART.left + slot * i + slot * 0.1 + width * j,
          y: CHART.top + plotH - height,
          width: Math.max(1, width - 1),
          height,
          class: `bar ${s.key}`,
        });
        bar.append(svg("title", {}, `${h.hour}h ${s.label}: ${format(value)}`));
        root.append(bar);
      });
    });
    container.replaceChildren(root, legend(series));
  }

  function lineChart(container, hours, key, label, target) {
    const { root, slot, plotH } = frame(1, percent);
    const points = hours
      .filter((h) => h[key] !== null)
      .map((h) => `${CHART.left + slot * (h.hour + 0.5)},${CHART.top + plotH * (1 - h[key])}`);
    const keys = [{ key, label }];
    if (typeof target === "number") {
      keys.push({ key: "target", label: `target ${percent(target)}` });
      const y = CHART.top + plotH * (1 - target);
      root.append(svg("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y, class: "target-line" }));
    }
    if (points.length) root.append(svg("polyline", { points: points.join(" "), class: "line" }));
    for (const point of points) {
      const [x, y] = point.split(",");
      root.append(svg("circle", { cx: x, cy: y, r: 3, class: "dot" }));
    }
    container.replaceChildren(root, legend(keys));
  }

  function legend(series) {
    return el("p", { class: "legend" }, ...series.map((s) => el("span", { class: `key ${s.key}` }, s.label)));
  }

  async function loadDay() {
    const params = new URLSearchParams();
    const date = document.getElementById("day-date").value;
    const queue = document.getElementById("day-queue").value;
    if (date) params.set("date", date);
    if (queue) params.set("queue", queue);
    try {
      const day = await api("GET", `/api/supervisor/day?${params}`);
      if (!date) document.getElementById("day-date").value = day.date;
      const t = day.totals;
      document.getElementById("day-totals").textContent =
        `${day.date}: ${t.offered} offered, ${t.answered} answered, ${t.abandoned} abandoned; ` +
        `service level ${percent(t.service_level)}, AHT ${duration(t.aht_s)}`;
      const calls = [
        { key: "offered", label: "Offered" },
        { key: "answered", label: "Answered" },
        { key: "abandoned", label: "Abandoned" },
      ];
      barChart(document.getElementById("chart-calls"), day.hours, calls, (v) => String(Math.round(v)), 2);
      lineChart(document.getElementById("chart-sl"), day.hours, "service_level", "Service level", day.sl_target);
      const seconds = (v) => `${Math.round(v)} s`;
      barChart(document.getElementById("chart-aht"), day.hours, [{ key: "aht_s", label: "AHT" }], seconds, 60);
    } catch (err) {
      notify(err.message, "error");
    }
  }

  // -- Staffing calculator ---------------------------------------------------------------------------------------
  async function calculate(event) {
    event.preventDefault();
    const form = event.target;
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) params.set(name, String(value).trim());
    const error = document.getElementById("staffing-error");
    const result = document.getElementById("staffing-result");
    try {
      const answer = await api("GET", `/api/supervisor/staffing?${params}`);
      const f = answer.figures;
      document.getElementById("staffing-model").textContent = `${answer.erlangs} erlangs, ${answer.model}`;
      document.getElementById("staffing-out-operators").textContent = f.operators;
      document.getElementById("staffing-out-p_wait").textContent = percent(f.p_wait);
      document.getElementById("staffing-out-service_level").textContent = percent(f.service_level);
      document.getElementById("staffing-out-meets").textContent = answer.meets_target ? "met" : "NOT met";
      document.getElementById("staffing-out-asa_s").textContent = f.asa_s === null ? "unbounded" : `${f.asa_s.toFixed(1)} s`;
      document.getElementById("staffing-out-abandon_rate").textContent = percent(f.abandon_rate);
      document.getElementById("staffing-out-occupancy").textContent = percent(f.occupancy);
      error.hidden = true;
      result.hidden = false;
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      result.hidden = true;
    }
  }

  // -- Calls and recordings: one <audio> player per call whose recording can be played ---------------------------
  function when(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleString() : "–";
  }

  function recordRow(call) {
    const wait = call.answered_at ? call.answered_at - call.started_at : null;
    const talk = call.answered_at && call.ended_at ? call.ended_at - call.answered_at : null;
    const player = call.recording_url
      ? el("audio", { controls: true, preload: "none", src: call.recording_url })
      : el("span", { class: "muted" }, "none");
    return el(
      "tr",
      { "data-call-id": call.id },
      el("td", {}, when(call.started_at)),
      el("td", {}, call.queue || ""),
      el("td", {}, call.operator || ""),
      el("td", {}, call.caller || ""),
      el("td", {}, call.outcome || (call.ended_at ? "" : "in progress")),
      el("td", { class: "num" }, duration(wait)),
      el("td", { class: "num" }, duration(talk)),
      el("td", {}, call.wrapup_code || ""),
      el("td", { class: "recording" }, player),
    );
  }

  async function loadCalls(event) {
    if (event) event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(document.getElementById("calls-form"))) {
      if (String(value).trim()) params.set(name, String(value).trim());
    }
    try {
      const answer = await api("GET", `/api/calls?${params}`);
      fill(document.querySelector("#calls-table tbody"), answer.calls.map(recordRow), 9, "No call in this period.");
      const more = answer.count === answer.limit ? ` (the latest ${answer.limit}: narrow the period for more)` : "";
      document.getElementById("calls-count").textContent = `${answer.count} calls${more}`;
    } catch (err) {
      notify(err.message, "error");
    }
  }

  function startWallboard() {
    api("GET", "/api/supervisor/board").then(showBoard, (err) => unavailable({ detail: err.message }));
    listen("/api/supervisor/events", { board: showBoard, unavailable, ended: () => window.location.reload() });
    document.getElementById("day-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadDay();
    });
    document.getElementById("staffing-form").addEventListener("submit", calculate);
    loadDay();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("queues")) startWallboard();
    if (document.getElementById("calls-table")) {
      document.getElementById("calls-form").addEventListener("submit", loadCalls);
      loadCalls();
    }
  });
})();
