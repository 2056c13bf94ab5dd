// Portal behaviours without inline handlers (CSP): copy buttons, confirmations, dismissable flashes.
(function () {
  "use strict";

  // <button data-copy="#selector"> copies the target's text.
  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const target = document.querySelector(copy.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          const label = copy.textContent;
          copy.textContent = "Copied";
          setTimeout(function () { copy.textContent = label; }, 1500);
        });
      }
    }
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.parentElement.remove();
    }
    const open = event.target.closest("[data-open-dialog]");
    if (open) {
      const dialog = document.getElementById(open.getAttribute("data-open-dialog"));
      if (dialog) dialog.showModal();
    }
    const close = event.target.closest("[data-close-dialog]");
    if (close) {
      const dialog = close.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // hx-confirm uses our accessible dialog instead of window.confirm.
  document.addEventListener("htmx:confirm", function (event) {
    const question = event.detail.question;
    if (!question) return;
    event.preventDefault();
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-text").textContent = question;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") event.detail.issueRequest(true);
    });
  });

  // Plain (non-HTMX) forms with data-confirm ask the same dialog first.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches("form[data-confirm]") || form.dataset.confirmed === "1") return;
    event.preventDefault();
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-text").textContent = form.getAttribute("data-confirm");
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") { form.dataset.confirmed = "1"; form.requestSubmit(); }
    });
  });

  // Flash messages fade after a while; errors stay until dismissed.
  document.addEventListener("htmx:afterSettle", autoDismiss);
  document.addEventListener("DOMContentLoaded", autoDismiss);
  function autoDismiss() {
    document.querySelectorAll(".flash-success, .flash-info").forEach(function (el) {
      if (el.dataset.timer) return;
      el.dataset.timer = "1";
      setTimeout(function () { el.remove(); }, 6000);
    });
  }
})();
