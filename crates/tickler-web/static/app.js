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
