// The admin's set-up page: draws operators, skills, queues, hotlines, the site's versions, the audit log and the
// console users from /api/admin/...; every edit saves a version (checked by the server), Apply sends it to Asterisk.
"use strict";

(() => {
  const { api, notify } = window.Console;
  const LEVELS = ["", "1", "2", "3", "4", "5"];
  let state = null; // GET /api/admin/site
  let editingOperator = null; // sip_user being edited, or null when adding
  let editingQueue = null;
  const hooks = []; // other parts of the page (admin_users.js), called with the site after each refresh

  const $ = (id) => document.getElementById(id);

  // el("td", {class: "num"}, "text", childNode ...): a small DOM builder; text is never parsed as HTML.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "");

  function showError(id, err) {
    const box = $(id);
    box.textContent = err ? err.message || String(err) : "";
    box.hidden = !err;
    if (err) notify(err.message || String(err), "error", 10);
  }

  function levelSelect(name, value) {
    const select = el("select", { name, "data-skill": name, "aria-label": `${name} level` });
    for (const level of LEVELS) {
      select.append(el("option", { value: level, selected: String(value ?? "") === level }, level || "—"));
    }
    return select;
  }

  function skillLevels(fieldsetId, levels) {
    const box = $(fieldsetId);
    box.querySelectorAll(".skill-level").forEach((node) => node.remove());
    for (const skill of state.site.skills) {
      box.append(el("label", { class: "skill-level" }, skill, " ", levelSelect(skill, (levels || {})[skill])));
    }
  }

  function readLevels(fieldsetId) {
    const levels = {};
    $(fieldsetId).querySelectorAll("select[data-skill]").forEach((select) => {
      if (select.value) levels[select.dataset.skill] = Number(select.value);
    });
    return levels;
  }

  const badges = (levels) =>
    Object.entries(levels || {}).map(([skill, level]) => el("span", { class: "badge skill" }, `${skill} ${level}`));

  // -- the site ------------------------------------------------------------------------------------------------
  async function loadSite() {
    state = await api("GET", "/api/admin/site");
    drawPending();
    drawOperators();
    drawSkills();
    drawQueues();
    drawHotlines();
    if (!editingOperator) skillLevels("op-skills", {});
    if (!editingQueue) skillLevels("q-requires", {});
    fillQueueChoices();
  }

  function drawPending() {
    $("pending").hidden = !state.pending;
    $("pending-version").textContent = state.latest_version;
    $("running-version").textContent = state.applied_version ? `version ${state.applied_version}` : "no version yet";
    $("pending-diff").hidden = true;
  }

  function drawOperators() {
    const body = $("operators").tBodies[0];
    body.replaceChildren();
    for (const op of state.site.operators) {
      body.append(
        el("tr", { "data-sip-user": op.sip_user },
          el("td", {}, op.sip_user), el("td", {}, op.name), el("td", {}, badges(op.skills)),
          el("td", {}, op.extension || ""), el("td", {}, op.supervisor ? "yes" : ""),
          el("td", { class: "actions" },
            el("button", { type: "button", onclick: () => editOperator(op) }, "Edit"),
            el("button", { type: "button", class: "danger", onclick: () => removeOperator(op) }, "Remove"))));
    }
  }

  function editOperator(op) {
    editingOperator = op ? op.sip_user : null;
    const form = $("operator-form");
    form.reset();
    $("operator-form-title").textContent = op ? `Edit operator ${op.sip_user}` : "Add an operator";
    $("op-sip-user").value = op ? op.sip_user : "";
    $("op-sip-user").readOnly = Boolean(op);
    $("op-name").value = op ? op.name : "";
    $("op-secret").required = !op;
    $("op-secret").placeholder = op ? "unchanged" : "12 characters or more";
    $("op-extension").value = op ? op.extension || "" : "";
    $("op-supervisor").checked = Boolean(op && op.supervisor);
    $("operator-cancel").hidden = !op;
    skillLevels("op-skills", op ? op.skills : {});
    showError("operator-error", null);
    if (op) form.scrollIntoView({ behavior: "smooth" });
  }

  async function saveOperator(event) {
    event.preventDefault();
    const fields = {
      sip_user: $("op-sip-user").value.trim(),
      name: $("op-name").value.trim(),
      skills: readLevels("op-skills"),
      supervisor: $("op-supervisor").checked,
    };
    const secret = $("op-secret").value;
    if (secret) fields.secret = secret;
    const extension = $("op-extension").value.trim();
    if (extension) fields.extension = extension;
    else if (editingOperator) fields.extension = null;
    try {
      if (editingOperator) {
        delete fields.sip_user;
        await api("PUT", `/api/admin/site/operators/${encodeURIComponent(editingOperator)}`, fields);
      } else {
        await api("POST", "/api/admin/site/operators", fields);
      }
    } catch (err) {
      showError("operator-error", err);
      return;
    }
    notify(`Operator ${editingOperator || fields.sip_user} saved: apply to put it live`);
    editOperator(null);
    await refresh();
  }

  async function removeOperator(op) {
    if (!window.confirm(`Remove operator ${op.sip_user} (${op.name})?`)) return;
    await edit("DELETE", `/api/admin/site/operators/${encodeURIComponent(op.sip_user)}`);
  }

  // A one-click edit: errors go to the notice under the header.
  async function edit(method, url, body) {
    try {
      await api(method, url, body);
    } catch (err) {
      notify(err.message, "error", 12);
      return false;
    }
    await refresh();
    return true;
  }

  function drawSkills() {
    const list = $("skills");
    list.replaceChildren();
    for (const skill of state.site.skills) {
      const remove = () => edit("DELETE", `/api/admin/site/skills/${encodeURIComponent(skill)}`);
      list.append(el("li", { "data-skill": skill }, el("span", { class: "badge skill" }, skill), " ",
        el("button", { type: "button", class: "link", onclick: remove, "aria-label": `Remove skill ${skill}` }, "remove")));
    }
  }

  async function addSkill(event) {
    event.preventDefault();
    try {
      await api("POST", "/api/admin/site/skills", { name: $("skill-name").value.trim() });
    } catch (err) {
      showError("skill-error", err);
      return;
    }
    showError("skill-error", null);
    $("skill-form").reset();
    await refresh();
  }

  // -- queues --------------------------------------------------------------------------------------------------
  const widening = (steps) => steps.map((s) => `from ${s.after_s} s: level ${s.min_level}+`).join(", ");

  function drawQueues() {
    const body = $("queues").tBodies[0];
    body.replaceChildren();
    for (const q of state.site.queues) {
      const then = q.on_max_wait === "overflow" ? `overflow to ${q.overflow_to}` : q.on_max_wait;
      body.append(
        el("tr", { "data-queue": q.name },
          el("td", {}, q.name), el("td", {}, badges(q.requires)), el("td", {}, widening(q.steps) || "—"),
          el("td", {}, `${Math.round(q.sl_target * 100)}% in ${q.sl_seconds} s`),
          el("td", {}, `${q.max_wait_s} s, then ${then}`), el("td", { class: "num" }, `${q.wrapup_s} s`),
          el("td", { class: "num" }, q.priority),
          el("td", { class: "actions" },
            el("button", { type: "button", onclick: () => editQueue(q) }, "Edit"),
            el("button", { type: "button", class: "danger", onclick: () => removeQueue(q) }, "Remove"))));
    }
  }

  function fillQueueChoices() {
    const select = $("q-overflow-to");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "—"));
    for (const q of state.site.queues) select.append(el("option", { value: q.name, selected: q.name === chosen }, q.name));
  }

  function stepRow(step) {
    const row = el("div", { class: "step-row" },
      el("label", {}, "after (s) ", el("input", { type: "number", min: "0", step: "any", class: "step-after", value: step ? step.after_s : 0 })),
      el("label", {}, "level ", levelSelect("min_level", step ? step.min_level : "")),
      el("button", { type: "button", class: "link", onclick: () => row.remove() }, "remove"));
    $("q-step-rows").append(row);
  }

  function editQueue(q) {
    editingQueue = q ? q.name : null;
    $("queue-form").reset();
    $("queue-form-title").textContent = q ? `Edit queue ${q.name}` : "Add a queue";
    $("q-name").value = q ? q.name : "";
    $("q-name").readOnly = Boolean(q);
    if (q) {
      $("q-priority").value = q.priority;
      $("q-sl-target").value = q.sl_target;
      $("q-sl-seconds").value = q.sl_seconds;
      $("q-max-wait").value = q.max_wait_s;
      $("q-on-max-wait").value = q.on_max_wait;
      $("q-overflow-to").value = q.overflow_to || "";
      $("q-wrapup").value = q.wrapup_s;
      $("q-announce").value = q.announce_every_s;
      $("q-recording").value = q.recording === null ? "" : String(q.recording);
      $("q-extension").value = q.extension || "";
    }
    $("q-step-rows").replaceChildren();
    for (const step of q ? q.steps : []) stepRow(step);
    skillLevels("q-requires", q ? q.requires : {});
    $("queue-cancel").hidden = !q;
    showError("queue-error", null);
    if (q) $("queue-form").scrollIntoView({ behavior: "smooth" });
  }

  function readQueue() {
    const number = (id) => ($(id).value === "" ? null : Number($(id).value));
    const steps = [...$("q-step-rows").querySelectorAll(".step-row")].map((row) => ({
      after_s: Number(row.querySelector(".step-after").value),
      min_level: Number(row.querySelector("select").value),
    }));
    const recording = $("q-recording").value;
    return {
      name: $("q-name").value.trim(),
      requires: readLevels("q-requires"),
      steps,
      priority: number("q-priority"),
      sl_target: number("q-sl-target"),
      sl_seconds: number("q-sl-seconds"),
      max_wait_s: number("q-max-wait"),
      on_max_wait: $("q-on-max-wait").value,
      overflow_to: $("q-overflow-to").value || null,
      wrapup_s: number("q-wrapup"),
      announce_every_s: number("q-announce"),
      recording: recording === "" ? null : recording === "true",
      extension: $("q-extension").value.trim() || null,
    };
  }

  async function saveQueue(event) {
    event.preventDefault();
    const fields = readQueue();
    try {
      if (editingQueue) {
        delete fields.name;
        await api("PUT", `/api/admin/site/queues/${encodeURIComponent(editingQueue)}`, fields);
      } else {
        await api("POST", "/api/admin/site/queues", fields);
      }
    } catch (err) {
      showError("queue-error", err);
      return;
    }
    notify(`Queue ${editingQueue || fields.name} saved: apply to put it live`);
    editQueue(null);
    await refresh();
  }

  async function removeQueue(q) {
    if (!window.confirm(`Remove queue ${q.name}?`)) return;
    await edit("DELETE", `/api/admin/site/queues/${encodeURIComponent(q.name)}`);
  }

  function drawHotlines() {
    const body = $("hotlines").tBodies[0];
    body.replaceChildren();
    for (const h of state.site.hotlines) {
      const menu = Object.entries(h.menu).map(([digit, queue]) => `${digit}: ${queue}`).join(", ");
      body.append(el("tr", {}, el("td", {}, h.number), el("td", {}, h.queue), el("td", {}, menu || "—")));
    }
  }

  // -- versions, apply, roll back ------------------------------------------------------------------------------
  async function loadVersions() {
    const { versions } = await api("GET", "/api/admin/site/versions");
    const body = $("versions").tBodies[0];
    body.replaceChildren();
    for (const v of versions) {
      let status = el("span", { class: "badge" }, "saved, not applied");
      if (v.running) status = el("span", { class: "badge ok" }, "running");
      else if (v.applied_at) status = el("span", { class: "badge" }, `applied ${when(v.applied_at)}`);
      const actions = el("td", { class: "actions" },
        el("button", { type: "button", onclick: () => showDiff(v.id) }, "Diff"));
      if (!v.running && v.id === versions[0].id) {
        actions.append(el("button", { type: "button", class: "primary", onclick: () => apply(v.id) }, "Apply"));
      } else if (!v.running) {
        actions.append(el("button", { type: "button", onclick: () => rollback(v.id) }, "Roll back to this"));
      }
      body.append(el("tr", { "data-version": v.id },
        el("td", { class: "num" }, v.id), el("td", {}, when(v.created_at)), el("td", {}, v.author),
        el("td", {}, v.note || "", v.restored_from ? ` (repeats version ${v.restored_from})` : ""),
        el("td", {}, status), actions));
    }
  }

  async function showDiff(id, against = "previous", boxId = "version-diff") {
    const { diff } = await api("GET", `/api/admin/site/versions/${id}/diff?against=${against}`);
    const box = $(boxId);
    box.replaceChildren();
    for (const line of (diff || "no difference\n").split("\n")) {
      const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
      box.append(el("span", { class: kind }, line), "\n");
    }
    box.hidden = false;
  }

  function drawReport(report) {
    const rows = [
      ["Version", report.version],
      ["Site file", `${report.site_file}${report.backup ? ` (previous kept as ${report.backup})` : ""}`],
      ["Asterisk configs", report.asterisk_dir ? `${report.files_written.join(", ") || "unchanged"} in ${report.asterisk_dir}` : "—"],
      ["Reloaded", report.reloaded.join(", ") || "nothing"],
      ["Asterisk problems", report.asterisk_errors.join("; ") || "none"],
      ["Needs an Asterisk restart", report.asterisk_restart.join(", ") || "no"],
      ["Platform", report.platform],
    ];
    $("apply-report-body").replaceChildren(...rows.flatMap(([term, text]) => [el("dt", {}, term), el("dd", {}, text)]));
    $("apply-report").hidden = false;
    const trouble = report.asterisk_errors.length || report.platform.startsWith("restart");
    notify(`Version ${report.version} applied${trouble ? ": see the report" : ""}`, trouble ? "error" : "info", 10);
  }

  async function apply(id) {
    try {
      const { report } = await api("POST", `/api/admin/site/versions/${id}/apply`);
      drawReport(report);
    } catch (err) {
      notify(err.message, "error", 12);
    }
    await refresh();
  }

  async function rollback(id) {
    if (!window.confirm(`Roll the site back to version ${id} and apply it now?`)) return;
    try {
      const { report } = await api("POST", `/api/admin/site/versions/${id}/rollback`);
      drawReport(report);
    } catch (err) {
      notify(err.message, "error", 12);
    }
    await refresh();
  }

  // -- the audit log -----------------------------------------------------------------------------------------
  function detailText(detail) {
    if (!detail) return "";
    if (detail.summary) return detail.summary;
    if (detail.platform) return `reloaded ${(detail.reloaded || []).join(", ") || "nothing"}; platform ${detail.platform}`;
    if (detail.note) return detail.note;
    if (detail.adopted) return "the site file as found on disk";
    return JSON.stringify(detail);
  }

  async function loadAudit() {
    const action = $("audit-action").value;
    const { entries } = await api("GET", `/api/admin/audit${action ? `?action=${encodeURIComponent(action)}` : ""}`);
    const body = $("audit").tBodies[0];
    body.replaceChildren();
    for (const e of entries) {
      body.append(el("tr", { "data-action": e.action },
        el("td", {}, when(e.at)), el("td", {}, e.user), el("td", {}, e.action), el("td", {}, e.target || ""),
        el("td", { class: "detail" }, detailText(e.detail))));
    }
  }

  // The history loads even when the latest version cannot be read (a site file broken by hand): roll back from it.
  async function refresh() {
    const others = () => Promise.all(hooks.map((hook) => hook(state)));
    const loads = await Promise.allSettled([loadSite().then(others), loadVersions(), loadAudit()]);
    const failed = loads.find((load) => load.status === "rejected");
    if (failed) notify(failed.reason.message || String(failed.reason), "error", 0);
  }

  window.Admin = { el, when, showError, edit, refresh, onRefresh: (hook) => hooks.push(hook) };

  document.addEventListener("DOMContentLoaded", () => {
    $("operator-form").addEventListener("submit", saveOperator);
    $("operator-cancel").addEventListener("click", () => editOperator(null));
    $("skill-form").addEventListener("submit", addSkill);
    $("queue-form").addEventListener("submit", saveQueue);
    $("queue-cancel").addEventListener("click", () => editQueue(null));
    $("q-add-step").addEventListener("click", () => stepRow(null));
    $("apply-latest").addEventListener("click", () => apply(state.latest_version));
    $("show-pending-diff").addEventListener("click", () => showDiff(state.latest_version, "applied", "pending-diff"));
    $("audit-action").addEventListener("change", () => loadAudit().catch((err) => notify(err.message, "error")));
    refresh();
  });
})();
