// The admin page's console users: list them with their roles, add one, disable or enable, reset a password.
// Drawn after each refresh of admin.js (window.Admin), from /api/admin/users.
"use strict";

(() => {
  const { api, notify } = window.Console;
  const { el, showError, edit, refresh, onRefresh } = window.Admin;
  const $ = (id) => document.getElementById(id);

  // The phones an operator's account may work as: the site's operators.
  function fillPhones(site) {
    const select = $("user-sip-user");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "—"));
    for (const op of site.operators) {
      select.append(el("option", { value: op.sip_user, selected: op.sip_user === chosen }, `${op.sip_user} (${op.name})`));
    }
  }

  function userRow(u) {
    const path = `/api/admin/users/${encodeURIComponent(u.name)}`;
    const toggle = u.disabled
      ? el("button", { type: "button", onclick: () => edit("POST", `${path}/enable`) }, "Enable")
      : el("button", { type: "button", class: "danger", onclick: () => edit("POST", `${path}/disable`) }, "Disable");
    const reset = async () => {
      const password = window.prompt(`New password for ${u.name} (8 characters or more)`);
      if (password && (await edit("POST", `${path}/password`, { password }))) notify(`Password of ${u.name} reset`);
    };
    const status = u.disabled ? el("span", { class: "badge bad" }, "disabled") : el("span", { class: "badge ok" }, "active");
    return el("tr", { "data-user": u.name },
      el("td", {}, u.name), el("td", {}, u.role.replace("_", " ")), el("td", {}, u.sip_user || ""), el("td", {}, status),
      el("td", { class: "actions" }, toggle, el("button", { type: "button", onclick: reset }, "Reset password")));
  }

  async function loadUsers(state) {
    fillPhones(state.site);
    const { users, roles } = await api("GET", "/api/admin/users");
    const role = $("user-role");
    if (!role.options.length) for (const r of roles) role.append(el("option", { value: r }, r.replace("_", " ")));
    $("users").tBodies[0].replaceChildren(...users.map(userRow));
  }

  async function addUser(event) {
    event.preventDefault();
    const fields = {
      name: $("user-name").value.trim(), role: $("user-role").value, password: $("user-password").value,
      sip_user: $("user-sip-user").value || null,
    };
    try {
      await api("POST", "/api/admin/users", fields);
    } catch (err) {
      showError("user-error", err);
      return;
    }
    showError("user-error", null);
    $("user-form").reset();
    notify(`User ${fields.name} added`);
    await refresh();
  }

  onRefresh(loadUsers);
  document.addEventListener("DOMContentLoaded", () => $("user-form").addEventListener("submit", addUser));
})();
