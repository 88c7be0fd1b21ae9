// Keyboard shortcuts of the review screen (docs/review.md lists them): j/k move between
// messages, n/p between groups of findings, f applies the fix of the current one, x ticks the
// current message, ? shows the list. A file of ours: the Content-Security-Policy allows no
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
    const button = current.querySelector("button.apply-fix, button.fix-all");
    if (button) {
      button.click();
    }
  }

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
    n: () => step(".review-group", 1),
    p: () => step(".review-group", -1),
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
    }
  });
}());
