// Upload progress on the buyer's KYC page: htmx reports XHR progress, the <progress> element shows it.
(function () {
  "use strict";
  function bar(form) { return form && form.querySelector("[data-upload-progress]"); }
  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = event.target.closest("[data-upload-form]");
    const progress = bar(form);
    if (!progress || !event.detail.lengthComputable) return;
    const percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    progress.hidden = false;
    progress.value = percent;
    progress.textContent = percent + "%";
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.target.closest("[data-upload-form]");
    if (!form) return;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.target.closest("[data-upload-form]");
    if (!form) return;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
    const progress = bar(form);
    if (progress) { progress.hidden = true; progress.value = 0; }
    if (event.detail.successful) form.reset();
  });
})();
