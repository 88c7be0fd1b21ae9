// Keeps status and progress current without a full reload: every element with
// data-progress-url is refreshed every two seconds while its batch is still moving.
(function () {
  const FINAL = ["sent", "rejected"];
  function render(el, data) {
    const status = el.querySelector("[data-status]");
    if (status) {
      status.textContent = data.status_display;
      status.dataset.badge = data.status;  // the badge's colour follows the state
    }
    const bar = el.querySelector("[data-bar]");
    const count = el.querySelector("[data-count]");
    if (bar) {
      bar.hidden = data.progress.percent === null;  // no stage running: nothing to show
      bar.value = data.progress.percent === null ? 0 : data.progress.percent;
    }
    if (count) count.textContent = data.progress.total ? data.progress.done + " / " + data.progress.total : "";
  }
  function watch(el) {
    let last = el.dataset.status;
    const tick = () => fetch(el.dataset.progressUrl, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => {
        render(el, data);
        if (data.status !== last && el.dataset.reloadOnChange !== undefined) {
          window.location.reload();  // the rest of the page (quote, history) follows the state
          return;
        }
        last = data.status;
        if (!FINAL.includes(data.status)) setTimeout(tick, 2000);
      })
      .catch(() => setTimeout(tick, 5000));
    if (!FINAL.includes(last)) setTimeout(tick, 2000);
  }
  document.querySelectorAll("[data-progress-url]").forEach(watch);
})();
