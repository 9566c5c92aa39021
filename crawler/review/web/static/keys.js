// newsmon serve: keyboard triage, as in feed readers. Every action also works without this
// script (links and POST forms); with it, reviews from the list are saved in place.
"use strict";
(() => {
  const page = document.body.dataset.page;
  const help = document.getElementById("help");
  const rows = () => Array.from(document.querySelectorAll("tr.hit"));
  let selected = -1;

  function toast(text) {
    const note = document.createElement("div");
    note.className = "toast";
    note.setAttribute("role", "status");
    note.textContent = text;
    document.body.appendChild(note);
    setTimeout(() => note.remove(), 2500);
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function show(row, review) {
    for (const state of ["relevant", "irrelevant", "unreviewed"]) row.classList.remove(state);
    row.classList.add(review.verdict || "unreviewed");
    row.classList.toggle("starred", review.starred);
    const buttons = {
      relevant: row.querySelector(".act.relevant"),
      irrelevant: row.querySelector(".act.irrelevant"),
      star: row.querySelector(".act.star"),
    };
    for (const verdict of ["relevant", "irrelevant"]) {
      const on = review.verdict === verdict;
      buttons[verdict].setAttribute("aria-pressed", String(on));
      buttons[verdict].value = on ? "clear" : verdict;
    }
    buttons.star.setAttribute("aria-pressed", String(review.starred));
    buttons.star.value = review.starred ? "unstar" : "star";
  }

  async function review(row, action) {
    const form = row.querySelector("form.review");
    const data = new FormData(form);
    data.set("action", action);
    try {
      // Not form.action: the buttons named "action" shadow that property.
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      show(row, await response.json());
    } catch (error) {
      toast("Not saved (" + error.message + "): reload the page and try again.");
    }
  }

  // In the list, review buttons save in place instead of reloading the page.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const row = form.closest("tr.hit");
    if (!row || !form.matches("form.review")) return;
    event.preventDefault();
    const button = event.submitter;
    if (button && button.value) review(row, button.value);
  });

  function follow(key) {
    const link = document.querySelector(`a[data-key="${key}"]`);
    if (link) window.location.href = link.href;
  }

  function submitArticle(action) {
    const form = document.querySelector(".review-panel form.review");
    if (!form) return;
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "action";
    input.value = action;
    form.appendChild(input);
    form.submit();
  }

  function onList(key) {
    const all = rows();
    const row = all[selected];
    switch (key) {
      case "j": select(selected + 1); return true;
      case "k": select(selected < 0 ? 0 : selected - 1); return true;
      case "o": case "Enter": if (row) window.location.href = row.dataset.href; return Boolean(row);
      case "r": case "i":
        if (!row) return false;
        review(row, key === "r" ? "relevant" : "irrelevant");
        select(selected + 1);
        return true;
      case "s": if (row) review(row, row.classList.contains("starred") ? "unstar" : "star"); return Boolean(row);
      case "x": if (row) review(row, "clear"); return Boolean(row);
      case "n": follow("n"); return true;
      case "p": follow("p"); return true;
      default: return false;
    }
  }

  function onArticle(key) {
    switch (key) {
      case "j": follow("j"); return true;
      case "k": follow("k"); return true;
      case "u": follow("u"); return true;
      case "r": submitArticle("relevant"); return true;
      case "i": submitArticle("irrelevant"); return true;
      case "s": {
        const star = document.querySelector(".review-panel .act.star");
        if (star) submitArticle(star.value);
        return true;
      }
      case "x": submitArticle("clear"); return true;
      case "n": document.getElementById("note").focus(); return true;
      case "v": {
        const original = document.querySelector("a[data-original]");
        if (original) window.open(original.href, "_blank", "noopener,noreferrer");
        return true;
      }
      default: return false;
    }
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.matches("textarea")) {
      target.form.submit();  // Ctrl+Enter saves a note
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (help.open) return;
    let handled = false;
    if (event.key === "?") {
      help.showModal();
      handled = true;
    } else if (event.key === "/") {
      const search = document.getElementById("search");
      if (search) { search.focus(); search.select(); handled = true; }
    } else if (page === "hits") {
      handled = onList(event.key);
    } else if (page === "article") {
      handled = onArticle(event.key);
    }
    if (handled) event.preventDefault();
  });

  // Bulk triage: "All on this page" ticks every hit (without this script, the server reads
  // it as every hit of the page); unticking one hit leaves the others ticked.
  const pickAll = document.querySelector("[data-pick-all]");
  if (pickAll) {
    const picks = () => Array.from(document.querySelectorAll("td.pick input[type=checkbox]"));
    const counted = document.querySelector("[data-picked]");
    const count = () => {
      const n = picks().filter((box) => box.checked).length;
      counted.textContent = n ? `${n} selected` : "";
    };
    pickAll.addEventListener("change", () => {
      for (const box of picks()) box.checked = pickAll.checked;
      count();
    });
    for (const box of picks()) {
      box.addEventListener("change", () => {
        if (!box.checked) pickAll.checked = false;
        count();
      });
    }
  }

  document.querySelector("[data-help]").addEventListener("click", () => help.showModal());
  if (page === "hits" && rows().length) select(0);
})();
