// The dialplan editor (admin_dialplan.html): check, diff and apply the admin's contexts, list the versions with
// roll back, and the audit log of dialplan changes. Every call goes to /api/admin/dialplan/... through api().
"use strict";

(() => {
  const { api, notify } = window.Console;
  const $ = (id) => document.getElementById(id);
  const editor = $("dialplan-editor");

  function when(seconds) {
    return seconds ? new Date(seconds * 1000).toLocaleString() : "";
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    return td;
  }

  // Select line `number` (1-based) in the editor, so the admin sees the refused line.
  function goToLine(number) {
    const lines = editor.value.split("\n");
    const start = lines.slice(0, number - 1).reduce((sum, line) => sum + line.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[number - 1] || "").length);
    const lineHeight = editor.scrollHeight / Math.max(lines.length, 1);
    editor.scrollTop = Math.max(0, (number - 3) * lineHeight);
  }

  function status(text, kind) {
    const box = $("check-status");
    box.textContent = text;
    box.className = `dialplan-status ${kind || ""}`;
    box.hidden = !text;
  }

  function showProblems(problems) {
    const list = $("problems");
    list.replaceChildren();
    for (const problem of problems || []) {
      const item = document.createElement("li");
      item.className = "problem";
      item.dataset.line = problem.line;
      const link = document.createElement("button");
      link.type = "button";
      link.className = "link";
      link.textContent = `line ${problem.line}`;
      link.addEventListener("click", () => goToLine(problem.line));
      item.append(link, `: ${problem.message}`);
      list.append(item);
    }
    list.hidden = !problems || problems.length === 0;
  }

  function showDiff(text) {
    const box = $("diff-preview");
    box.replaceChildren();
    for (const line of (text || "no change\n").split("\n")) {
      const span = document.createElement("span");
      if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
      else if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
      else if (line.startsWith("@@")) span.className = "hunk";
      span.textContent = `${line}\n`;
      box.append(span);
    }
    box.hidden = false;
  }

  async function check() {
    const answer = await api("POST", "/api/admin/dialplan/check", { content: editor.value });
    showProblems(answer.problems);
    if (answer.ok) status("No problems: it may be applied.", "ok");
    else status(`Refused: ${answer.problems.length} problem(s), each with its line.`, "bad");
    return answer.ok;
  }

  async function previewDiff() {
    const answer = await api("POST", "/api/admin/dialplan/diff", { content: editor.value });
    showDiff(answer.diff);
  }

  // Apply and roll back answer 422 with `problems` when the check refuses: list them as Check does.
  async function applied(promise, done) {
    try {
      const answer = await promise;
      showProblems([]);
      status(done(answer), "ok");
      notify(done(answer));
      $("diff-preview").hidden = true;
      await refresh();
    } catch (err) {
      if (err.body && err.body.problems) {
        showProblems(err.body.problems);
        status(`Refused: ${err.body.problems.length} problem(s), each with its line. Nothing was changed.`, "bad");
      } else {
        status(err.message, "bad");
      }
      notify(err.message, "error", 0);
      await loadAudit(); // a refusal or a failed apply is in the audit log too
    }
  }

  async function apply() {
    const note = $("apply-note").value.trim();
    if (!note) {
      status("Write a note first: why this change (it is kept with the version).", "bad");
      $("apply-note").focus();
      return;
    }
    await applied(api("POST", "/api/admin/dialplan/apply", { content: editor.value, note }), (answer) => {
      $("apply-note").value = "";
      return `Version ${answer.version.id} applied: Asterisk runs it now.`;
    });
  }

  async function rollback(id) {
    await applied(api("POST", `/api/admin/dialplan/versions/${id}/rollback`, {}), (answer) => {
      return `Version ${answer.version.id} applied: the content of version ${id}.`;
    });
  }

  async function view(id) {
    const version = await api("GET", `/api/admin/dialplan/versions/${id}`);
    const box = $("version-content");
    box.textContent = `; version ${version.id} by ${version.author}\n${version.content}`;
    box.hidden = false;
  }

  async function loadVersions(answer) {
    const data = answer || (await api("GET", "/api/admin/dialplan/versions"));
    const body = $("versions").tBodies[0];
    body.replaceChildren();
    for (const version of data.versions) {
      const row = body.insertRow();
      row.dataset.version = version.id;
      cell(row, version.id, "num");
      cell(row, version.author);
      cell(row, when(version.created_at));
      cell(row, version.running ? "running" : version.applied_at ? when(version.applied_at) : "not applied");
      const restored = version.restored_from ? ` (restores version ${version.restored_from})` : "";
      cell(row, `${version.note || ""}${restored}`);
      const actions = cell(row, "", "actions");
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "View";
      show.addEventListener("click", () => view(version.id));
      actions.append(show);
      if (!version.running) {
        const back = document.createElement("button");
        back.type = "button";
        back.className = "rollback";
        back.textContent = "Roll back to this";
        back.addEventListener("click", () => rollback(version.id));
        actions.append(back);
      }
    }
  }

  async function loadAudit() {
    const data = await api("GET", "/api/admin/audit?action=dialplan.&limit=100");
    const body = $("audit").tBodies[0];
    body.replaceChildren();
    for (const entry of data.entries) {
      const row = body.insertRow();
      cell(row, when(entry.at));
      cell(row, entry.user_name || entry.user);
      cell(row, entry.action);
      cell(row, entry.target);
      const detail = entry.detail || {};
      const parts = [];
      if (detail.note) parts.push(detail.note);
      if (detail.problems) parts.push(detail.problems.join("; "));
      if (detail.error) parts.push(detail.error);
      if (detail.lines_added !== undefined) parts.push(`+${detail.lines_added} -${detail.lines_removed} lines`);
      cell(row, parts.join(" · "), "detail");
    }
  }

  async function refresh() {
    const state = await api("GET", "/api/admin/dialplan");
    $("drift").hidden = !state.drift;
    $("running-info").textContent = state.current ? `, version ${state.current.id} runs` : "";
    await Promise.all([loadVersions(), loadAudit()]);
  }

  function guarded(action) {
    return async () => {
      try {
        await action();
      } catch (err) {
        status(err.message, "bad");
        notify(err.message, "error", 0);
      }
    };
  }

  $("check").addEventListener("click", guarded(check));
  $("show-diff").addEventListener("click", guarded(previewDiff));
  $("apply").addEventListener("click", guarded(apply));
  guarded(refresh)();
})();
