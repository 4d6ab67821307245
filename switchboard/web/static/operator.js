// The operator's desk (operator.html): state and pause, the screen pop and its disposition, my day, days off.
// Live: /api/operator/events pushes the state and the call's id when they change; the screen pop is then fetched.
// Everything shown from the server goes in with textContent: a lead's data is shown as written, never run.
"use strict";

(function () {
  const { api, listen, notify } = window.Console;
  const $ = (id) => document.getElementById(id);
  const STATES = {
    available: "Available", paused: "Paused", on_call: "On a call", offered: "Ringing", wrap_up: "Wrap-up",
    logged_out: "Logged out", unregistered: "Phone offline", unknown: "Unknown (is the platform running?)",
  };
  const LEAD_LABELS = {
    full_name: "Name", first_name: "First name", last_name: "Last name", middle_name: "Middle name",
    phone_e164: "Phone", alt_phones: "Other phones", email: "E-mail", address: "Address", city: "City",
    region: "Region", time_zones: "Time zone", status: "Lead status", attempts: "Attempts",
  };
  const KEEP_ENDED_S = 60; // an undisposed call whose record is not written yet stays on screen this long

  let state = { state: "unknown", seconds: null, receivedAt: Date.now() };
  let shown = null; // {key, view, saved, endedAt}

  // -- small helpers -------------------------------------------------------------------------------------------------
  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }
  function row(cells) {
    const tr = el("tr");
    for (const cell of cells) tr.appendChild(el("td", cell === null || cell === undefined ? "–" : cell));
    return tr;
  }
  function fill(tbody, rows, emptyText, columns) {
    tbody.replaceChildren();
    if (!rows.length) {
      tbody.appendChild(el("tr", null, { class: "empty" })).appendChild(el("td", emptyText, { colspan: columns, class: "muted" }));
    }
    for (const cells of rows) tbody.appendChild(row(cells));
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
  }
  function when(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleString() : "–";
  }
  function showError(box, err) {
    box.textContent = err.message;
    box.hidden = false;
  }
  function markField(form, field) {
    for (const node of form.querySelectorAll(".field-error")) node.classList.remove("field-error");
    if (!field) return;
    const target = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (target) target.classList.add("field-error");
  }

  // -- state ---------------------------------------------------------------------------------------------------------
  function showState(data) {
    state = { ...data, receivedAt: Date.now() };
    const box = $("state");
    box.textContent = STATES[data.state] || data.state;
    box.className = `state figure state-${data.state}`;
    box.dataset.state = data.state;
    $("state-reason").textContent = data.paused_reason ? `(${data.paused_reason})` : "";
    $("btn-login").disabled = data.state !== "logged_out";
    $("btn-available").disabled = !["paused", "logged_out"].includes(data.state);
    $("btn-pause").disabled = data.state === "logged_out" || data.state === "paused";
    $("btn-logout").disabled = data.state === "logged_out";
    tick();
  }
  function tick() {
    const seconds = state.seconds === null || state.seconds === undefined ? null
      : state.seconds + (Date.now() - state.receivedAt) / 1000;
    $("state-time").textContent = duration(seconds);
  }
  async function refreshState() {
    try {
      showState(await api("GET", "/api/operator/state"));
    } catch (err) {
      notify(err.message, "error");
    }
  }
  async function act(url, body) {
    for (const button of document.querySelectorAll(".desk-actions button")) button.disabled = true;
    try {
      await api("POST", url, body);
    } catch (err) {
      notify(err.message, "error", 0);
    }
    await refreshState();
  }
  async function goAvailable() {
    if (state.state === "logged_out") await act("/api/operator/login");
    if (state.paused_reason) await act("/api/operator/unpause");
  }

  // -- the screen pop ------------------------------------------------------------------------------------------------
  async function refreshCall() {
    let view;
    try {
      view = await api("GET", "/api/operator/call");
    } catch (err) {
      notify(err.message, "error");
      return;
    }
    showCall(view);
  }
  function showCall(view) {
    if (!view.call) {
      const keep = shown && !shown.saved && shown.view.direction === "outbound";
      if (keep && (shown.endedAt === null || Date.now() - shown.endedAt < KEEP_ENDED_S * 1000)) {
        shown.endedAt = shown.endedAt || Date.now();
        setStatus("call ended", "warn");
        return;
      }
      shown = null;
      $("call").hidden = true;
      $("no-call").hidden = false;
      setStatus("", "");
      return;
    }
    const key = `${view.call}|${view.attempt_id || ""}`;
    if (!shown || shown.key !== key) {
      shown = { key, view, saved: Boolean(view.disposed), endedAt: null };
      if (view.direction === "outbound") buildOutbound(view);
      else buildInbound(view);
    }
    shown.endedAt = null;
    $("no-call").hidden = true;
    $("call").hidden = false;
    setStatus(view.status === "on_call" ? "on the call" : "after the call", view.status === "on_call" ? "ok" : "warn");
  }
  function setStatus(text, kind) {
    const badge = $("call-status");
    badge.textContent = text;
    badge.className = kind ? `badge ${kind}` : "badge";
  }
  function buildInbound(view) {
    $("call-outbound").hidden = true;
    $("call-inbound").hidden = false;
    $("caller-number").textContent = view.caller || "unknown number";
    $("call-queue").textContent = view.queue || "–";
    $("call-hotline").textContent = view.hotline || "–";
    fill($("past-calls").tBodies[0], (view.past_calls || []).map((c) => [
      when(c.started_at), c.queue, c.operator, c.outcome, c.wrapup_code, duration(c.talk_s),
    ]), "No earlier call from this number.", 6);
  }
  function buildOutbound(view) {
    $("call-inbound").hidden = true;
    $("call-outbound").hidden = false;
    const lead = view.lead || {};
    const name = lead.full_name || [lead.first_name, lead.middle_name, lead.last_name].filter(Boolean).join(" ");
    $("lead-name").textContent = name || "(no name)";
    $("lead-phone").textContent = lead.phone_e164 || "";
    $("call-campaign").textContent = view.campaign;
    $("call-attempt").textContent = view.attempt_id;
    $("script").textContent = view.script || "";
    const details = $("lead-details").tBodies[0];
    details.replaceChildren();
    for (const [field, label] of Object.entries(LEAD_LABELS)) {
      const value = lead[field];
      if (value === null || value === undefined || (Array.isArray(value) && !value.length)) continue;
      const tr = el("tr");
      tr.append(el("th", label), el("td", Array.isArray(value) ? value.join(", ") : value));
      details.appendChild(tr);
    }
    for (const [field, value] of Object.entries(lead.custom || {})) {
      const tr = el("tr");
      tr.append(el("th", field), el("td", value));
      details.appendChild(tr);
    }
    fill($("past-contacts").tBodies[0], (view.past_contacts || []).map((a) => [
      when(a.started_at), a.result, a.operator, a.disposition_label || a.disposition,
      a.refusal_reason_label || a.refusal_reason, a.note,
    ]), "No earlier contact.", 6);
    buildDisposition(view);
  }
  function buildDisposition(view) {
    const form = $("disposition-form");
    form.reset();
    markField(form, null);
    $("disposition-error").hidden = true;
    $("disposition-saved").hidden = !view.disposed;
    const choose = $("disposition");
    choose.replaceChildren(el("option", "— choose —", { value: "" }));
    choose.parentElement.dataset.field = "disposition";
    for (const d of view.dispositions) choose.appendChild(el("option", d.label, { value: d.code }));
    const reasons = $("refusal-reason");
    reasons.replaceChildren(el("option", "— choose —", { value: "" }));
    for (const r of view.refusal_reasons) reasons.appendChild(el("option", r.label, { value: r.code }));
    $("refusal-reason-field").dataset.field = "refusal_reason";
    $("callback-field").dataset.field = "callback_at";
    $("callback-zone").textContent = view.callback_zone || "the lead's zone";
    buildFields($("order-form"), $("order-form-fields"), view.order_form, "order_form");
    buildFields($("survey"), $("survey-fields"), view.survey, "survey");
    showDispositionFields();
    for (const control of form.elements) control.disabled = Boolean(view.disposed);
  }
  function buildFields(fieldset, box, form, section) {
    box.replaceChildren();
    fieldset.hidden = !form || !form.fields.length;
    if (fieldset.hidden) return;
    for (const f of form.fields) {
      const label = el("label", `${f.label}${f.required ? " *" : ""} `);
      label.dataset.field = `${section}.${f.name}`;
      let input;
      if (f.type === "choice") {
        input = el("select");
        input.appendChild(el("option", "—", { value: "" }));
        for (const c of f.choices) input.appendChild(el("option", c, { value: c }));
      } else if (f.type === "bool") {
        input = el("select");
        for (const [value, text] of [["", "—"], ["yes", "yes"], ["no", "no"]]) input.appendChild(el("option", text, { value }));
      } else {
        const types = { integer: "number", number: "number", date: "date", phone: "tel", email: "email" };
        input = el("input", null, { type: types[f.type] || "text" });
        if (f.type === "number") input.step = "any";
      }
      input.name = f.name;
      input.dataset.section = section;
      const value = form.values ? form.values[f.name] : null;
      if (value !== null && value !== undefined) input.value = String(value);
      label.appendChild(input);
      box.appendChild(label);
    }
  }
  function chosenDisposition() {
    const code = $("disposition").value;
    return shown ? shown.view.dispositions.find((d) => d.code === code) : undefined;
  }
  function showDispositionFields() {
    const d = chosenDisposition();
    $("refusal-reason-field").hidden = !(d && d.refusal);
    $("callback-field").hidden = !(d && d.callback);
    $("callback-personal-field").hidden = !(d && d.callback);
  }
  function answers(section) {
    const out = {};
    for (const input of document.querySelectorAll(`[data-section="${section}"]`)) {
      if (input.value.trim() !== "") out[input.name] = input.value.trim();
    }
    return out;
  }
  async function saveDisposition(event) {
    event.preventDefault();
    if (!shown || shown.saved) return;
    const form = $("disposition-form");
    const d = chosenDisposition();
    const body = {
      attempt_id: shown.view.attempt_id,
      code: $("disposition").value,
      refusal_reason: d && d.refusal ? $("refusal-reason").value || null : null,
      callback_at: d && d.callback ? $("callback-at").value || null : null,
      callback_personal: Boolean(d && d.callback && $("callback-personal").checked),
      note: $("note").value,
    };
    if (d && d.success) body.order_form = answers("order_form");
    const survey = answers("survey");
    if (Object.keys(survey).length) body.survey = survey;
    $("save-disposition").disabled = true;
    try {
      await api("POST", "/api/operator/disposition", body);
    } catch (err) {
      showError($("disposition-error"), err);
      markField(form, err.body && err.body.field);
      $("save-disposition").disabled = false;
      return;
    }
    shown.saved = true;
    markField(form, null);
    $("disposition-error").hidden = true;
    $("disposition-saved").hidden = false;
    for (const control of form.elements) control.disabled = true;
    notify("Disposition saved.");
    refreshToday();
  }

  // -- my day --------------------------------------------------------------------------------------------------------
  async function refreshToday() {
    try {
      const day = await api("GET", "/api/operator/today");
      $("today-day").textContent = day.day;
      $("today-calls").textContent = day.calls;
      $("today-talk").textContent = duration(day.talk_s);
      $("today-sales").textContent = day.sales;
      $("today-conversion").textContent = day.conversion === null ? "–" : `${Math.round(day.conversion * 1000) / 10} %`;
      $("today-score").textContent = day.average_score === null ? "–" : day.average_score;
    } catch (err) {
      notify(err.message, "error");
    }
  }

  // -- days off ------------------------------------------------------------------------------------------------------
  async function refreshDaysOff() {
    try {
      const mine = await api("GET", "/api/operator/days-off");
      fill($("my-days-off").tBodies[0], mine.requests.map((r) => [r.first_day, r.last_day, r.days, r.reason, r.status]),
        "No request yet.", 5);
    } catch (err) {
      notify(err.message, "error");
    }
  }
  async function requestDaysOff(event) {
    event.preventDefault();
    const form = $("days-off-form");
    for (const [id, field] of [["days-off-first", "first_day"], ["days-off-last", "last_day"], ["days-off-reason", "reason"]]) {
      $(id).parentElement.dataset.field = field;
    }
    const body = { first_day: $("days-off-first").value, last_day: $("days-off-last").value || null,
      reason: $("days-off-reason").value || null };
    try {
      await api("POST", "/api/operator/days-off", body);
    } catch (err) {
      showError($("days-off-error"), err);
      markField(form, err.body && err.body.field);
      return;
    }
    $("days-off-error").hidden = true;
    markField(form, null);
    form.reset();
    notify("Your request is with the supervisors.");
    refreshDaysOff();
  }

  // -- wiring --------------------------------------------------------------------------------------------------------
  function follow() {
    const status = $("live-status");
    listen("/api/operator/events", {
      open: () => { status.textContent = "live"; status.className = "badge ok"; },
      error: () => { status.textContent = "reconnecting…"; status.className = "badge warn"; },
      state: (data) => showState(data),
      call: () => refreshCall(),
      unavailable: (data) => { status.textContent = "no live state"; status.className = "badge bad"; notify(data.detail, "error"); },
      ended: () => window.location.assign("/login?next=/operator"),
    });
  }
  function start() {
    if (!$("state-panel") || $("no-phone")) return;
    $("btn-login").addEventListener("click", () => act("/api/operator/login"));
    $("btn-available").addEventListener("click", goAvailable);
    $("btn-pause").addEventListener("click", () => act("/api/operator/pause", { reason: $("pause-reason").value }));
    $("btn-logout").addEventListener("click", () => act("/api/operator/logout"));
    $("disposition").addEventListener("change", showDispositionFields);
    $("disposition-form").addEventListener("submit", saveDisposition);
    $("days-off-form").addEventListener("submit", requestDaysOff);
    refreshState();
    refreshCall();
    refreshToday();
    refreshDaysOff();
    follow();
    window.setInterval(tick, 1000);
    window.setInterval(refreshCall, 3000); // the after-call view appears once the call's record is written
    window.setInterval(refreshToday, 30000);
  }
  start();
})();
