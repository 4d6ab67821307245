// Days off for supervisors (days_off.html): approve or refuse a pending request, then show the page afresh.
"use strict";

(function () {
  const { api, notify } = window.Console;

  async function decide(button) {
    const id = button.dataset.request;
    const action = button.dataset.decide;
    for (const b of document.querySelectorAll(`button[data-request="${CSS.escape(id)}"]`)) b.disabled = true;
    try {
      await api("POST", `/api/days-off/${encodeURIComponent(id)}/${action}`);
    } catch (err) {
      notify(err.message, "error", 0);
      for (const b of document.querySelectorAll(`button[data-request="${CSS.escape(id)}"]`)) b.disabled = false;
      return;
    }
    window.location.reload();
  }

  for (const cell of document.querySelectorAll(".requested-at")) {
    cell.textContent = new Date(Number(cell.dataset.epoch) * 1000).toLocaleString();
  }
  for (const button of document.querySelectorAll("button[data-decide]")) {
    button.addEventListener("click", () => decide(button));
  }
})();
