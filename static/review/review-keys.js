// Keyboard shortcuts of the review screen (docs/review.md lists them): j/k move between
// messages, n/p between the path's actions and groups of findings, f applies the fix or action
// of the current one, a approves once nothing blocks, x ticks the current message, ? shows the
// list. A file of ours: the Content-Security-Policy allows no
// inline script.
(function () {
  "use strict";

  const CURRENT = "review-current";
  let current = null;

  function items(selector) {
    return Array.from(document.querySelectorAll(selector));
  }

  function moveTo(element) {
    if (!element) {
      return;
    }
    if (current) {
      current.classList.remove(CURRENT);
    }
    current = element;
    current.classList.add(CURRENT);
    current.focus({preventScroll: true});
    current.scrollIntoView({block: "center"});
  }

  function step(selector, by) {
    const list = items(selector);
    if (list.length === 0) {
      return;
    }
    const at = list.indexOf(current);
    if (at === -1) {
      moveTo(by > 0 ? list[0] : list[list.length - 1]);
    } else {
      moveTo(list[Math.min(Math.max(at + by, 0), list.length - 1)]);
    }
  }

  function applyFix() {
    if (!current) {
      return;
    }
    if (current.matches(".review-action")) {
      doAction(current);
      return;
    }
    const button = current.querySelector("button.apply-fix, button.fix-all");
    if (button) {
      button.click();
    }
  }

  // An action of the path: its first-offered button; an exclusion needs its reason typed
  // first (Enter in that field then excludes).
  function doAction(form) {
    const button = form.querySelector("button.path-primary");
    const reason = form.querySelector("input.path-reason");
    if (button && button.classList.contains("path-exclude") && reason && !reason.value.trim()) {
      reason.focus();
      return;
    }
    if (button) {
      button.click();
    }
  }

  // "a": approve once nothing blocks the batch; before that, go to the decision.
  function approve() {
    const form = document.getElementById("approve");
    if (!form) {
      return;
    }
    if (form.hasAttribute("data-ready")) {
      form.querySelector("input[type=submit]").click();
    } else {
      form.scrollIntoView({block: "center"});
    }
  }

  // Enter in a path's field runs that field's action, not the form's first button.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !event.target.closest) {
      return;
    }
    const form = event.target.closest(".review-action");
    if (!form) {
      return;
    }
    const which = event.target.matches("input.path-reason") ? "exclude"
      : event.target.matches("input.path-replacement") ? "replace" : "";
    const button = which && form.querySelector(`button[value=${which}]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // The replacement as typed, in each sample's "after".
  document.addEventListener("input", (event) => {
    if (!event.target.matches || !event.target.matches("input.path-replacement")) {
      return;
    }
    const form = event.target.closest(".review-action");
    form.querySelectorAll("ins.path-inserted").forEach((ins) => {
      ins.textContent = event.target.value;
    });
  });

  function toggleTick() {
    const box = current && current.querySelector("input[type=checkbox][name=message_ids]");
    if (box) {
      box.checked = !box.checked;
    }
  }

  function help(show) {
    const dialog = document.getElementById("review-keys-help");
    if (!dialog) {
      return;
    }
    dialog.hidden = !show;
    if (show) {
      dialog.focus();
    } else if (current) {
      current.focus({preventScroll: true});
    }
  }

  function typing(target) {
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  const KEYS = {
    j: () => step(".review-message", 1),
    k: () => step(".review-message", -1),
    n: () => step(".review-action, .review-group", 1),
    p: () => step(".review-action, .review-group", -1),
    a: approve,
    f: applyFix,
    x: toggleTick,
    "?": () => help(document.getElementById("review-keys-help").hidden),
    Escape: () => help(false),
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    const action = KEYS[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // After a fix the page comes back at the message or group that was current ("#message-12").
  document.addEventListener("DOMContentLoaded", () => {
    const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && (target.matches(".review-message") || target.matches(".review-group"))) {
      moveTo(target);
    } else if (!window.location.hash) {
      // The path leads: its first action, or (nothing blocks) the approval, is current.
      moveTo(document.querySelector(".review-action.blocking") ||
             document.getElementById("approve-ready"));
    }
  });
}());
