// Suggestions under the search box, from /api/search, as the user types.
// Without JavaScript the box still submits to the /search page.
"use strict";

(function () {
  const box = document.getElementById("search-box");
  const list = document.getElementById("search-suggestions");
  if (!box || !list) return;
  const api = box.form.dataset.api;
  let timer = null;
  let seq = 0;

  function hide() {
    list.hidden = true;
    list.replaceChildren();
  }

  async function suggest() {
    const q = box.value.trim();
    const mine = ++seq;
    if (!q) return hide();
    let doc;
    try {
      const resp = await fetch(api + "?limit=8&q=" + encodeURIComponent(q));
      if (!resp.ok) return hide();
      doc = await resp.json();
    } catch (err) {
      return hide();
    }
    if (mine !== seq) return; // a newer request was made meanwhile
    const frag = document.createDocumentFragment();
    for (const hit of doc.results) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = hit.page;
      a.textContent = hit.label;
      li.appendChild(a);
      if (hit.match !== "exact label") {
        const small = document.createElement("small");
        small.textContent = " " + hit.matched;
        a.appendChild(small);
      }
      frag.appendChild(li);
    }
    list.replaceChildren(frag);
    list.hidden = doc.results.length === 0;
  }

  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") hide();
    if (ev.key === "ArrowDown" && !list.hidden) {
      ev.preventDefault();
      const first = list.querySelector("a");
      if (first) first.focus();
    }
  });
  list.addEventListener("keydown", (ev) => {
    const links = Array.from(list.querySelectorAll("a"));
    const i = links.indexOf(document.activeElement);
    if (ev.key === "ArrowDown" && i < links.length - 1) { ev.preventDefault(); links[i + 1].focus(); }
    if (ev.key === "ArrowUp") { ev.preventDefault(); (i > 0 ? links[i - 1] : box).focus(); }
    if (ev.key === "Escape") { hide(); box.focus(); }
  });
  document.addEventListener("click", (ev) => {
    if (!box.form.contains(ev.target)) hide();
  });
})();
