// The campaign manager's pages: the campaign file editor, and a campaign's report (bar charts in inline SVG, no
// library: the console works offline), start / pause / stop, live dialer figures, win-back, lead list uploads.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const LIVE_EVERY_MS = 2000;
  const IMPORT_EVERY_MS = 500;

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A horizontal bar chart of `items` ({label, value}) drawn into `box`: one row a bar, the value at its end.
  function barChart(box, items) {
    box.textContent = "";
    if (!items.length) return;
    const rowHeight = 26;
    const labelWidth = 210;
    const width = 560;
    const barSpace = width - labelWidth - 60;
    const most = Math.max(...items.map((item) => item.value), 1);
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${items.length * rowHeight + 4}`,
      width: "100%",
      role: "img",
      class: "bars",
    });
    items.forEach((item, i) => {
      const y = i * rowHeight + 2;
      const length = Math.max(1, Math.round((item.value / most) * barSpace));
      const label = item.label.length > 26 ? `${item.label.slice(0, 25)}…` : item.label;
      svg.appendChild(el("text", { x: labelWidth - 6, y: y + 16, "text-anchor": "end", class: "bar-label" }, label));
      const bar = el("rect", { x: labelWidth, y: y + 3, width: length, height: rowHeight - 8, rx: 3, class: "bar" });
      bar.appendChild(el("title", {}, `${item.label}: ${item.value}`));
      svg.appendChild(bar);
      svg.appendChild(el("text", { x: labelWidth + length + 6, y: y + 16, class: "bar-value" }, String(item.value)));
    });
    box.appendChild(svg);
  }

  function percent(value, digits = 1) {
    return value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)}%`;
  }

  function showError(box, message) {
    box.textContent = message;
    box.hidden = !message;
  }

  // -- the campaign file editor -------------------------------------------------------------------------------
  function editor(form) {
    const id = form.dataset.campaignId;
    const error = document.getElementById("campaign-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, "");
      const body = { toml: document.getElementById("campaign-toml").value };
      try {
        const saved = id
          ? await Console.api("PUT", `/api/campaigns/${id}`, body)
          : await Console.api("POST", "/api/campaigns", body);
        window.location.assign(`/campaigns/${saved.id}`);
      } catch (err) {
        showError(error, err.message);
      }
    });
  }

  // -- a campaign's page --------------------------------------------------------------------------------------
  function charts() {
    const data = JSON.parse(document.getElementById("report-data").textContent);
    const outcomes = Object.entries(data.outcomes).map(([label, value]) => ({ label, value }));
    outcomes.sort((a, b) => b.value - a.value);
    barChart(document.getElementById("outcomes-chart"), outcomes);
    const reasons = data.refusals.map((r) => ({ label: r.label, value: r.count }));
    barChart(document.getElementById("refusal-chart"), reasons);
  }

  function statusButtons(id) {
    const badge = document.getElementById("campaign-status");
    const buttons = document.querySelectorAll(".campaign-actions button[data-action]");
    const show = (status) => {
      badge.textContent = status;
      badge.className = `badge ${{ active: "ok", paused: "warn" }[status] || ""}`;
      document.getElementById("campaign-start").disabled = status === "active";
      document.getElementById("campaign-pause").disabled = status !== "active";
      document.getElementById("campaign-stop").disabled = status === "archived";
    };
    for (const button of buttons) {
      button.addEventListener("click", async () => {
        const action = button.dataset.action;
        if (action === "stop" && !window.confirm("Stop the campaign? No new call will be placed.")) return;
        try {
          const done = await Console.api("POST", `/api/campaigns/${id}/${action}`);
          show(done.status);
          Console.notify(`Campaign ${done.status} (was ${done.was}).`);
        } catch (err) {
          Console.notify(err.message, "error");
        }
      });
    }
  }

  function showLive(answer) {
    const live = answer.live;
    const set = (id, text) => (document.getElementById(id).textContent = text);
    const counted = answer.counted;
    const days = Math.round(counted.window_s / 86400);
    const windowName = days >= 1 ? `${days} day${days === 1 ? "" : "s"}` : `${Math.round(counted.window_s / 3600)} h`;
    set("live-abandon-label", `abandon rate over ${windowName} (${counted.abandoned} of ${counted.answered} answered)`);
    const cap = answer.dialer ? answer.dialer.max_abandon_rate : null;
    const rate = live && live.abandon_rate !== null ? live.abandon_rate : counted.rate;
    const rateBox = document.getElementById("live-abandon-rate");
    rateBox.textContent = percent(rate, 2);
    rateBox.classList.toggle("late", cap !== null && rate !== null && rate > cap * 0.9);
    if (!live) {
      for (const id of ["live-dial-level", "live-answer-rate", "live-operators-idle", "live-calls-ringing"]) set(id, "–");
      set("live-updated", answer.live_error || (answer.dialer
        ? "The dialer publishes nothing: the platform is not running (switchboard run)."
        : "No dialer places this campaign's calls."));
      return;
    }
    set("live-dial-level", live.dial_level === null ? "–" : live.dial_level.toFixed(2));
    set("live-answer-rate", percent(live.answer_rate));
    set("live-operators-idle", String(live.operators_idle));
    set("live-calls-ringing", String(live.calls_ringing));
    const age = Math.max(0, answer.now - live.updated_at);
    set("live-updated", `The dialer's figures, ${age.toFixed(0)} s old (dialer sees the campaign ${live.status}).`);
  }

  function liveFigures(id) {
    const poll = async () => {
      try {
        showLive(await Console.api("GET", `/api/campaigns/${id}/live`));
      } catch (err) {
        document.getElementById("live-updated").textContent = err.message;
      }
    };
    poll();
    window.setInterval(poll, LIVE_EVERY_MS);
  }

  function winback(id) {
    const form = document.getElementById("winback-form");
    const error = document.getElementById("winback-error");
    const result = document.getElementById("winback-result");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, "");
      const reasons = [...form.querySelectorAll("input[name=reason]:checked")].map((box) => box.value);
      const name = document.getElementById("winback-name").value;
      try {
        const made = await Console.api("POST", `/api/campaigns/${id}/winback`, { name, reasons });
        result.textContent = "";
        const link = document.createElement("a");
        link.href = `/campaigns/${made.id}`;
        link.textContent = made.campaign;
        result.append(link, ` ${made.created ? "created" : "topped up"}: ${made.copied} leads copied of ` +
          `${made.matched} refused (${made.already} already there, ${made.dnc} on do-not-call).`);
        result.hidden = false;
      } catch (err) {
        showError(error, err.message);
      }
    });
  }

  // -- lead list upload ---------------------------------------------------------------------------------------
  async function postFile(url, data) {
    const response = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": Console.csrfToken() },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : `${response.status} ${response.statusText}`;
      throw new Console.ApiError(response.status, detail, body);
    }
    return body;
  }

  function showJob(job) {
    const share = job.total > 0 ? Math.min(100, Math.floor((job.done / job.total) * 100)) : 0;
    const shown = job.state === "done" ? 100 : share;
    document.getElementById("upload-progress").value = shown;
    document.getElementById("upload-percent").textContent = `${shown}%`;
    const state = document.getElementById("upload-state");
    state.textContent = job.state;
    state.className = `badge ${{ done: "ok", failed: "bad" }[job.state] || ""}`;
    document.getElementById("upload-counts").textContent =
      `${job.rows.toLocaleString()} rows read: ${job.accepted.toLocaleString()} accepted, ` +
      `${job.rejected.toLocaleString()} rejected, ${job.duplicates.toLocaleString()} duplicates, ` +
      `${job.dnc.toLocaleString()} on do-not-call, ${job.no_consent.toLocaleString()} without consent`;
    showError(document.getElementById("upload-error"), job.error || "");
    if (job.state === "done" && job.rejected > 0) {
      const body = document.querySelector("#upload-rejections tbody");
      body.textContent = "";
      for (const r of job.rejections) {
        const row = body.insertRow();
        for (const value of [r.line, r.field, r.value, r.reason]) row.insertCell().textContent = value ?? "";
        row.cells[0].className = "num";
      }
      document.getElementById("upload-rejections-link").href = job.rejections_url;
      document.getElementById("upload-rejections-box").hidden = false;
    }
  }

  // The campaign's finished imports (the one just done among them), newest first.
  async function refreshImports(id) {
    const answer = await Console.api("GET", `/api/campaigns/${id}/imports`);
    const body = document.querySelector("#imports tbody");
    body.textContent = "";
    for (const i of answer.finished) {
      const row = body.insertRow();
      const cells = [i.file_name, i.list_name, i.rows, i.imported, i.rejected, i.duplicates, i.dnc, i.no_consent];
      cells.forEach((value, n) => {
        const cell = row.insertCell();
        cell.textContent = typeof value === "number" ? value.toLocaleString() : value;
        if (n >= 2) cell.className = "num";
      });
    }
  }

  function upload(id) {
    const form = document.getElementById("upload-form");
    const button = document.getElementById("upload-start");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      button.disabled = true;
      document.getElementById("upload-rejections-box").hidden = true;
      document.getElementById("upload-job").hidden = false;
      try {
        let job = await postFile(`/api/campaigns/${id}/leads`, data);
        showJob(job);
        while (job.state === "running") {
          await new Promise((resolve) => window.setTimeout(resolve, IMPORT_EVERY_MS));
          job = await Console.api("GET", `/api/imports/${job.job}`);
          showJob(job);
        }
        Console.notify(job.state === "done" ? `${job.file_name}: ${job.accepted} leads imported.` : job.error,
          job.state === "done" ? "info" : "error");
        if (job.state === "done") await refreshImports(id);
      } catch (err) {
        showError(document.getElementById("upload-error"), err.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("campaign-form");
    if (form) editor(form);
    const page = document.getElementById("campaign");
    if (!page) return;
    const id = page.dataset.campaignId;
    charts();
    statusButtons(id);
    liveFigures(id);
    winback(id);
    upload(id);
  });
})();
