// The query page: a highlighted SPARQL editor that runs queries on /sparql with fetch().
// Written for this project; no third-party code. Text goes into the page only through
// textContent and attributes, never through innerHTML, so results cannot inject markup.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const form = document.getElementById("query-form");
  const editor = document.getElementById("query");
  const highlight = document.getElementById("highlight");
  const status = document.getElementById("status");
  const table = document.getElementById("results");
  const downloads = document.getElementById("downloads");
  const prefixes = Object.entries(data.prefixes).sort((a, b) => b[1].length - a[1].length);

  // ------------------------------------------------------------------ syntax highlighting
  const KEYWORDS = new Set(("select construct describe ask where from named prefix base distinct " +
    "reduced optional union minus graph service filter bind values order by asc desc limit " +
    "offset group having as not in exists true false a count sum min max avg sample " +
    "group_concat separator str lang langmatches datatype bound iri uri bnode rand abs ceil " +
    "floor round concat strlen ucase lcase encode_for_uri contains strstarts strends " +
    "strbefore strafter year month day hours minutes seconds timezone tz now uuid struuid md5 " +
    "sha1 sha256 sha384 sha512 coalesce if strlang strdt sameterm isiri isuri isblank " +
    "isliteral isnumeric regex substr replace undef").split(" "));
  const TOKENS = [
    ["comment", /#[^\n]*/y],
    ["iri", /<[^<>"{}|^`\\\s]*>/y],
    ["string", /"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?/y],
    ["variable", /[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+/y],
    ["pname", /(?:[A-Za-z][\w.-]*)?:(?:[\w%-](?:[\w.%:-]*[\w%:-])?)?/y],
    ["number", /[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)/y],
    ["word", /[A-Za-z_]\w*/y],
    ["space", /\s+/y],
  ];

  function tokenize(text) {
    const out = [];
    let i = 0;
    while (i < text.length) {
      let matched = false;
      for (const [kind, re] of TOKENS) {
        re.lastIndex = i;
        const m = re.exec(text);
        if (m && m[0].length > 0) {
          let k = kind;
          if (kind === "word") k = KEYWORDS.has(m[0].toLowerCase()) ? "keyword" : "plain";
          out.push([k, m[0]]);
          i += m[0].length;
          matched = true;
          break;
        }
      }
      if (!matched) {
        out.push(["punct", text[i]]);
        i += 1;
      }
    }
    return out;
  }

  function paint() {
    const frag = document.createDocumentFragment();
    for (const [kind, text] of tokenize(editor.value)) {
      if (kind === "space" || kind === "plain" || kind === "punct") {
        frag.appendChild(document.createTextNode(text));
      } else {
        const span = document.createElement("span");
        span.className = "tok-" + kind;
        span.textContent = text;
        frag.appendChild(span);
      }
    }
    frag.appendChild(document.createTextNode("\n")); // keep the last line's height
    highlight.replaceChildren(frag);
    syncScroll();
  }

  function syncScroll() {
    highlight.parentElement.scrollTop = editor.scrollTop;
    highlight.parentElement.scrollLeft = editor.scrollLeft;
  }

  // ------------------------------------------------------------------ result rendering
  function curie(iri) {
    for (const [prefix, ns] of prefixes) {
      if (iri.startsWith(ns) && iri.length > ns.length) return prefix + ":" + iri.slice(ns.length);
    }
    return iri;
  }

  function termCell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      const a = document.createElement("a");
      if (term.value.startsWith(data.base)) {
        a.href = data.root + "/" + term.value.slice(data.base.length);
        a.className = "local";
      } else {
        a.href = term.value;
        a.className = "external";
        a.rel = "noopener";
      }
      a.title = term.value;
      a.textContent = curie(term.value);
      td.appendChild(a);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
      td.className = "muted";
    } else {
      td.textContent = term.value;
      const extra = term["xml:lang"] ? "@" + term["xml:lang"]
        : term.datatype ? "^^" + curie(term.datatype) : "";
      if (extra) {
        const small = document.createElement("small");
        small.className = "muted";
        small.textContent = " " + extra;
        td.appendChild(small);
      }
    }
    return td;
  }

  function showTable(vars, rows) {
    const head = table.tHead;
    const body = table.tBodies[0];
    const tr = document.createElement("tr");
    for (const v of vars) {
      const th = document.createElement("th");
      th.textContent = v;
      tr.appendChild(th);
    }
    head.replaceChildren(tr);
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      const r = document.createElement("tr");
      for (const v of vars) r.appendChild(termCell(row[v]));
      frag.appendChild(r);
    }
    body.replaceChildren(frag);
    table.hidden = false;
  }

  // N-Triples (what CONSTRUCT/DESCRIBE return here) into the same cells as SELECT rows.
  function unescapeNt(s) {
    return s.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e) => {
      if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
      return { t: "\t", n: "\n", r: "\r", b: "\b", f: "\f" }[e] || e;
    });
  }

  function ntTerm(text) {
    if (text.startsWith("<")) return { type: "uri", value: text.slice(1, -1) };
    if (text.startsWith("_:")) return { type: "bnode", value: text.slice(2) };
    const m = /^"((?:[^"\\]|\\.)*)"(?:@([\w-]+)|\^\^<([^>]*)>)?$/.exec(text);
    if (!m) return { type: "literal", value: text };
    const t = { type: "literal", value: unescapeNt(m[1]) };
    if (m[2]) t["xml:lang"] = m[2];
    if (m[3]) t.datatype = m[3];
    return t;
  }

  function parseNTriples(text) {
    const line = /^(<[^>]*>|_:\S+)\s+(<[^>]*>)\s+(.+?)\s*\.\s*$/;
    const rows = [];
    for (const l of text.split("\n")) {
      const m = line.exec(l);
      if (m) rows.push({ subject: ntTerm(m[1]), predicate: ntTerm(m[2]), object: ntTerm(m[3]) });
    }
    return rows;
  }

  function showDownloads(query, kind) {
    const q = encodeURIComponent(query);
    for (const a of downloads.querySelectorAll("a.download")) {
      a.hidden = a.dataset.kind !== kind;
      a.href = data.endpoint + "?query=" + q + "&format=" + a.dataset.format;
    }
    downloads.hidden = false;
  }

  // ------------------------------------------------------------------ running queries
  let running = null;

  async function run(pushHistory) {
    const query = editor.value;
    const url = new URL(window.location.href);
    url.searchParams.set("query", query);
    if (pushHistory) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
    if (running) running.abort();
    const controller = new AbortController();
    running = controller;
    status.textContent = "Running\u2026";
    status.className = "";
    table.hidden = true;
    downloads.hidden = true;
    const started = performance.now();
    let resp;
    try {
      resp = await fetch(data.endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/sparql-results+json, application/n-triples;q=0.9",
        },
        body: "query=" + encodeURIComponent(query),
        signal: controller.signal,
      });
    } catch (err) {
      if (err.name !== "AbortError") {
        status.textContent = "The server could not be reached: " + err.message;
        status.className = "error";
      }
      return;
    }
    const text = await resp.text();
    if (controller !== running) return;
    running = null;
    const ms = Math.round(performance.now() - started);
    if (!resp.ok) {
      status.textContent = "Error " + resp.status + ": " + text;
      status.className = "error";
      return;
    }
    const truncated = resp.headers.get("X-Result-Truncated") === "true"
      ? " (cut at the row limit; use LIMIT/OFFSET to page)" : "";
    const type = (resp.headers.get("Content-Type") || "").split(";")[0];
    if (type === "application/n-triples") {
      const rows = parseNTriples(text);
      showTable(["subject", "predicate", "object"], rows);
      status.textContent = rows.length + " triples in " + ms + " ms" + truncated;
      showDownloads(query, "graph");
      return;
    }
    const doc = JSON.parse(text);
    if ("boolean" in doc) {
      table.hidden = true;
      status.textContent = "Answer: " + (doc.boolean ? "yes (true)" : "no (false)") + " in " + ms + " ms";
    } else {
      showTable(doc.head.vars, doc.results.bindings);
      const n = doc.results.bindings.length;
      status.textContent = n + (n === 1 ? " result" : " results") + " in " + ms + " ms" + truncated;
    }
    showDownloads(query, "tabular");
  }

  // ------------------------------------------------------------------ wiring
  editor.addEventListener("input", paint);
  editor.addEventListener("scroll", syncScroll);
  editor.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      run(true);
    }
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(true);
  });
  for (const a of document.querySelectorAll("a.example")) {
    a.addEventListener("click", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return; // new tab: follow
      ev.preventDefault();
      editor.value = new URL(a.href).searchParams.get("query") || "";
      paint();
      for (const other of document.querySelectorAll("a.example.current")) other.classList.remove("current");
      a.classList.add("current");
      run(true);
    });
  }
  window.addEventListener("popstate", () => {
    const q = new URL(window.location.href).searchParams.get("query");
    if (q !== null) {
      editor.value = q;
      paint();
      run(false);
    }
  });
  paint();
  if (data.autorun) run(false);
})();
