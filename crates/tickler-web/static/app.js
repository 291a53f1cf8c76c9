// Tickler: the little JavaScript the pages need. Everything works without it; it only
// asks for confirmation before irreversible actions, refreshes previews as you type and
// offers a Print button where a page is meant for paper.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A form with data-preview="URL" posts its fields there as you type and shows the answer
// in the element named by data-preview-target.
document.querySelectorAll("form[data-preview]").forEach((form) => {
  const target = document.getElementById(form.getAttribute("data-preview-target"));
  if (!target) return;
  let timer = null;
  const refresh = () => {
    const body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("data-preview"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      credentials: "same-origin",
    })
      .then((response) => response.text())
      .then((html) => { target.innerHTML = html; })
      .catch(() => {});
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
});

// A button with data-print prints the page; hidden without this script, which it needs.
document.querySelectorAll("button[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});

// The review queue by keyboard: j/k move between emails, Enter opens one, e opens it for
// editing, s for skipping, x ticks it for a bulk action. Keys typed into a field are left
// alone. The keys are listed on the page.
const queue = document.querySelector("table[data-queue]");
if (queue) {
  const rows = Array.from(queue.querySelectorAll("tr[data-href]"));
  let current = -1;
  const select = (index) => {
    if (rows.length === 0) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("selected", i === current));
    const link = rows[current].querySelector("a");
    if (link) link.focus();
    rows[current].scrollIntoView({ block: "nearest" });
  };
  // ▸ shows an email under its row, as it will be sent, without leaving the queue. The
  // buttons stay hidden without JavaScript: each email's page shows it then.
  queue.querySelectorAll("button.peek").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const shown = document.getElementById(button.getAttribute("aria-controls"));
      if (!shown) return;
      shown.hidden = !shown.hidden;
      button.setAttribute("aria-expanded", String(!shown.hidden));
      button.firstChild.textContent = shown.hidden ? "▸" : "▾";
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (typing) return;
    const row = rows[current];
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "e": if (row) window.location.href = row.dataset.href + "#edit"; break;
      case "s": if (row) window.location.href = row.dataset.href + "#skip"; break;
      case "x": {
        const box = row && row.querySelector("input[type=checkbox]");
        if (box) box.checked = !box.checked;
        break;
      }
      default: return;
    }
    event.preventDefault();
  });
}

// An email's page opened to skip it (#skip) starts in the reason field; to edit it (#edit),
// in the subject. After the load: the browser's own move to the #fragment comes first and
// would take the focus away again.
const startIn = { "#skip": "reason", "#edit": "subject" }[window.location.hash];
if (startIn) {
  window.addEventListener("load", () => {
    setTimeout(() => {
      const field = document.getElementById(startIn);
      if (field) field.focus();
    }, 0);
  });
}
