"""Linked-data pages: term IRIs that resolve, search, the query page, downloads and docs.

Every IRI of the base namespace (setting ``base_iri``) resolves at this server's root:
``https://w3id.org/cytokg/IL6`` is ``/IL6``, an HTML page for browsers and RDF by Accept or
by extension (``/IL6.ttl``). Nothing here reads a file the request names freely: downloads
are looked up in the manifest, docs go through ``send_from_directory`` (safe joins).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import NotFound
from werkzeug.wsgi import wrap_file

from kg.explain import Explainer, nt_term
from kg.layout import DERIVATIONS
from kg.store import GRAPH_EXAMPLES, GRAPH_FILES, OPTIONAL_GRAPH_FILES, QueryEngine, Term

from . import errors, formats, runtime
from .limits import Job
from .schema import Schema
from .search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, SearchIndex, normalize
from .terms import (
    Catalog,
    derivation_view,
    describe_query,
    nt_of,
    run_job,
    select,
    term_view,
)

bp = Blueprint("pages", __name__)

#: File extension of a term or download -> format token of the one media-type table.
EXTENSIONS: dict[str, str] = {
    "ttl": "turtle",
    "jsonld": "jsonld",
    "nt": "nt",
    "rdf": "rdfxml",
    "owl": "rdfxml",
}
ALTERNATES = ("ttl", "jsonld", "nt", "rdf")  # extensions offered as links on term pages
GRAPH_TOKENS = ("turtle", "jsonld", "nt", "rdfxml")
ONTOLOGY_TOKENS = ("rdfxml", "turtle", "nt", "jsonld")  # OWL tools expect RDF/XML first
#: The whole-ontology file served for each graph format.
ONTOLOGY_FILES = {
    "rdfxml": "cytokg.owl",
    "turtle": "cytokg.ttl",
    "nt": "cytokg.nt",
    "jsonld": "cytokg.jsonld",
}
#: Media types of release files that are not RDF.
OTHER_TYPES = {
    "json": "application/json",
    "jsonl": "application/jsonl",
    "tsv": "text/tab-separated-values",
    "txt": "text/plain",
    "svg": "image/svg+xml",
}
#: An SVG opened on its own is a document: it may style itself but never run a script.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
OVERVIEW = "overview.svg"
#: The SPARQL examples in the release (kg.examples), by format token.
EXAMPLES_FILES = {"turtle": "examples.ttl", "nt": "examples.nt"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: Generated documentation may carry inline styles; scripts still come only from here.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
MAX_TERM_CHARS = 2_000  # a term of a derivation page's query string
QUESTION = re.compile(r"^#\s*Question:\s*(.+?)\s*$", re.MULTILINE)
TOPIC = re.compile(r"^#\s*Topic:\s*(.+?)\s*$", re.MULTILINE)
#: The counts the home page shows, in order.
COUNTS = ("triples", "cytokines", "receptors", "drugs", "diseases", "cell types", "families")


@dataclass(frozen=True)
class Example:
    """One competency question offered on the query page."""

    name: str
    question: str
    query: str
    topic: str = ""
    keywords: tuple[str, ...] = ()  # schema:keywords of its SPARQL example in the release

    @property
    def number(self) -> tuple[int, str]:
        """Sort key: the number before the first hyphen, numerically (``9`` before ``10``)."""
        head = self.name.split("-", 1)[0]
        return (int(head) if head.isdigit() else 10**9, self.name)


@dataclass
class Pages:
    """The state of the pages, built once per app from the release and the queries folder."""

    catalog: Catalog
    index: SearchIndex
    examples: list[Example]
    release_dir: Path
    files: frozenset[str]  # release files named in the manifest (and the manifest itself)
    version: str
    load_seconds: float
    explainer: Explainer | None = None  # the release's derivations, if it has them
    schema: Schema | None = None  # hierarchies, property mappings, expressions, counts


def pages() -> Pages:
    """The current app's page state."""
    return current_app.extensions["cytokg_pages"]  # type: ignore[no-any-return]


def read_examples(folder: Path) -> list[Example]:
    """Every ``NN-name.rq`` of the queries folder with its ``# Question:`` line, by name."""
    examples = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.rq")):
            text = path.read_text(encoding="utf-8")
            found = QUESTION.search(text)
            question = found.group(1) if found else path.stem
            topic = TOPIC.search(text)
            examples.append(Example(path.stem, question, text, topic.group(1) if topic else ""))
    return examples


def with_keywords(examples: list[Example], engine: QueryEngine, base: str) -> list[Example]:
    """Give each question the keywords of its SPARQL example (kg.examples), if the release has it.

    The examples graph holds `<base>examples/<name>` with its `schema:keywords`; a release
    without that graph leaves the questions as they are.
    """
    if GRAPH_EXAMPLES not in engine.graphs:
        return examples
    query = (f"SELECT ?example ?keyword WHERE {{ GRAPH <{GRAPH_EXAMPLES}> {{ "
             "?example <https://schema.org/keywords> ?keyword } } ORDER BY ?example")
    found: dict[str, list[str]] = {}
    for example, keyword in select(engine, query):
        if example is not None and keyword is not None:
            found.setdefault(example.value, []).append(keyword.value)
    return [replace(ex, keywords=tuple(found.get(f"{base}examples/{ex.name}", ())))
            for ex in examples]


def init_app(app: Flask) -> None:
    """Build the catalogue, search index and examples, then register the routes."""
    started = time.monotonic()
    rt = runtime(app)
    settings = rt.settings
    base = settings.namespace
    catalog = Catalog.load(rt.engine, base, settings.release_dir)
    index = SearchIndex.build(rt.engine, catalog)
    schema = Schema.load(rt.engine, catalog, rt.manifest)
    files = frozenset(
        name
        for name in (*rt.manifest.get("files", {}), "manifest.json")
        if "/" not in name and "\\" not in name and name not in (".", "..")
    )
    # The derivations were computed by the build; the server only reads them (never reasons).
    explainer = Explainer.load(Path(settings.release_dir)) if DERIVATIONS in files else None
    app.extensions["cytokg_pages"] = Pages(
        catalog=catalog,
        index=index,
        examples=with_keywords(read_examples(Path(settings.queries_dir)), rt.engine, base),
        release_dir=Path(settings.release_dir),
        files=files,
        version=str(rt.manifest.get("version", "unknown")),
        load_seconds=time.monotonic() - started,
        explainer=explainer,
        schema=schema,
    )
    app.register_blueprint(bp)


# --------------------------------------------------------------------------- helpers


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    """Values every template needs: version, base IRI, search text."""
    p = pages()
    return {
        "version": p.version,
        "base_iri": p.catalog.base,
        "search_text": request.args.get("q", "") if request.endpoint == "pages.search" else "",
    }


@bp.app_template_filter("curie")
def _curie(iri: str) -> str:
    """An IRI abbreviated with the release's prefixes, for notes on term pages."""
    return pages().catalog.curie(iri) or iri


@bp.after_app_request
def _security_headers(resp: Response) -> Response:
    """No MIME sniffing anywhere; a strict Content-Security-Policy on every HTML page."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    if resp.mimetype == "text/html":
        strict = not request.path.startswith("/docs/")
        resp.headers.setdefault("Content-Security-Policy", CSP if strict else DOCS_CSP)
        resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def html(template: str, status: int = 200, **context: Any) -> Response:
    """Render a page as UTF-8 HTML."""
    body = render_template(template, **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def wants_html() -> bool:
    """Whether the client would rather read HTML than plain text (for error pages)."""
    offers = ["text/plain", "text/html"]  # */* (scripts) gets text, browsers ask for HTML
    return formats.negotiate(request.headers.get("Accept"), offers) == "text/html"


def not_found(message: str) -> Response:
    """A 404 as a page for browsers and as plain text for scripts."""
    if wants_html():
        return html("404.html", status=404, message=message)
    return errors.text_response(404, message)


def rdf_file(path: Path, token: str) -> Response:
    """Send a release file with the media type of its format (negotiated, hence Vary)."""
    resp = release_file(path, formats.BY_TOKEN[token].media_type)
    resp.headers["Vary"] = "Accept"
    return resp


def release_file(path: Path, media_type: str) -> Response:
    """Send a release file with ETag, Last-Modified and ranges.

    The file is opened first and its length and times read from the open descriptor, so a
    rebuild renaming a new file into place mid-request can never pair the old length with the
    new bytes (``send_file`` given a path stats the name, then opens it: a race).
    """
    file = path.open("rb")
    try:
        st = os.fstat(file.fileno())
        resp = current_app.response_class(
            wrap_file(request.environ, file), mimetype=media_type, direct_passthrough=True
        )
        resp.content_length = st.st_size
        resp.last_modified = datetime.fromtimestamp(st.st_mtime, UTC)
        resp.cache_control.public = True
        resp.cache_control.max_age = 300
        resp.expires = int(time.time() + 300)
        resp.set_etag(f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}")
        resp = resp.make_conditional(request.environ, accept_ranges=True,
                                     complete_length=st.st_size)
    except BaseException:
        file.close()
        raise
    return resp


def negotiate_graph(extension: str | None, html_first: bool) -> str:
    """``text/html`` or a graph format token, from the extension or else the Accept header."""
    if extension is not None:
        if extension == "html":
            return "text/html"
        return EXTENSIONS[extension]
    tokens = GRAPH_TOKENS if html_first else ONTOLOGY_TOKENS
    graph = [formats.BY_TOKEN[t].media_type for t in tokens]
    offers = ["text/html", *graph] if html_first else [*graph, "text/html"]
    aliases = [a for t in tokens for a in formats.BY_TOKEN[t].aliases]
    chosen = formats.negotiate(request.headers.get("Accept"), offers + aliases)
    if chosen is None:
        raise errors.not_acceptable(f"Terms are available as {', '.join(offers)}.")
    return chosen if chosen == "text/html" else formats.BY_MEDIA_TYPE[chosen].token


# --------------------------------------------------------------------------- pages


@bp.route("/")
def home() -> Response:
    """The start page: search, the query page, downloads and the endpoint."""
    p = pages()
    schema = p.schema
    families = []
    counts: list[tuple[str, int]] = []
    if schema is not None:
        families = schema.tree(p.catalog, [], schema.family_ancestors, schema.family_parents,
                               request.script_root, schema.family_counts, schema.families)
        counts = [(k, schema.counts[k]) for k in COUNTS if k in schema.counts]
    topics: dict[str, list[Example]] = {}
    for ex in sorted(p.examples, key=lambda e: e.number):
        topics.setdefault(ex.topic or "other", []).append(ex)
    return html(
        "home.html",
        files=sorted(p.files),
        topics=sorted(topics.items(), key=lambda kv: (kv[0] == "negative", kv[0])),
        n_examples=len(p.examples),
        n_terms=len(p.catalog.terms),
        families=families,
        counts=counts,
        overview=OVERVIEW in p.files and (p.release_dir / OVERVIEW).is_file(),
        docs=(p.release_dir / "docs").is_dir(),
    )


@bp.route("/favicon.ico")
def favicon() -> Response:
    """The site icon, where browsers look for it without being told."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)  # type: ignore[return-value]


@bp.route("/.well-known/sparql-examples")
def sparql_examples() -> Response:
    """The release's SPARQL examples (kg.examples), where SIB's convention puts them.

    Turtle and N-Triples are the release files; JSON-LD and RDF/XML are converted from the
    N-Triples (a small file) when asked for.
    """
    p = pages()
    tokens = ("turtle", "nt", "jsonld", "rdfxml")
    offers = [formats.BY_TOKEN[t].media_type for t in tokens]
    aliases = [a for t in tokens for a in formats.BY_TOKEN[t].aliases]
    chosen = formats.negotiate(request.headers.get("Accept"), offers + aliases)
    if chosen is None:
        raise errors.not_acceptable(f"The SPARQL examples are available as {', '.join(offers)}.")
    token = formats.BY_MEDIA_TYPE[chosen].token
    name = EXAMPLES_FILES.get(token, EXAMPLES_FILES["nt"])
    path = p.release_dir / name
    if name not in p.files or not path.is_file():
        return not_found("This release has no SPARQL examples (build it with kg.examples).")
    if token in EXAMPLES_FILES:
        return rdf_file(path, token)
    import pyoxigraph as ox

    triples = ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    body = ox.serialize(triples, format=ox.RdfFormat.JSON_LD if token == "jsonld"
                        else ox.RdfFormat.RDF_XML) or b""
    return Response(body, content_type=formats.content_type(formats.BY_TOKEN[token]),
                    headers={"Vary": "Accept"})


@bp.route("/query")
def query_page() -> Response:
    """The SPARQL query page; the query travels in ``?query=`` so a link shares it."""
    p = pages()
    query = request.args.get("query")
    name = request.args.get("example")
    if query is None and name is not None:
        chosen = [ex for ex in p.examples if ex.name == name]
        if not chosen:
            return not_found(f"No example query named {name!r}; see the list on /query.")
        query = chosen[0].query
    if query is None:
        query = p.examples[0].query if p.examples else "SELECT * WHERE { ?s ?p ?o } LIMIT 10"
        autorun = False
    else:
        autorun = True
    return html(
        "query.html",
        query=query,
        autorun=autorun,
        examples=p.examples,
        prefixes=dict(p.catalog.prefixes),
        result_formats=formats.FORMATS,
    )


def search_params() -> tuple[str, int]:
    """Validate ``q`` and ``limit`` (400 for anything else or out of bounds)."""
    unknown = sorted(set(request.args) - {"q", "limit"})
    if unknown:
        raise errors.bad_request(f"Unknown parameter(s): {', '.join(unknown)}. Allowed: q, limit.")
    values = request.args.getlist("q")
    if len(values) != 1:
        raise errors.bad_request("Give exactly one 'q' parameter, the text to search for.")
    q = values[0]
    if len(q) > MAX_QUERY_CHARS:
        raise errors.bad_request(f"'q' is longer than {MAX_QUERY_CHARS} characters.")
    if not normalize(q):
        raise errors.bad_request("'q' must contain at least one letter or digit.")
    raw = request.args.getlist("limit")
    if len(raw) > 1:
        raise errors.bad_request("Give at most one 'limit' parameter.")
    limit = DEFAULT_LIMIT
    if raw:
        if not raw[0].isdigit() or not 1 <= int(raw[0]) <= MAX_LIMIT:
            raise errors.bad_request(f"'limit' must be an integer from 1 to {MAX_LIMIT}.")
        limit = int(raw[0])
    return q, limit


def page_url(catalog: Catalog, iri: str) -> str:
    """Where a browser finds a term: our page for our IRIs, the IRI itself otherwise."""
    path = catalog.local_path(iri)
    return request.script_root + path if path is not None else iri


@bp.route("/api/search")
def api_search() -> Response:
    """Ranked term search as JSON: exact label > exact synonym/identifier > prefix > substring."""
    q, limit = search_params()
    p = pages()
    hits = p.index.search(q, limit)
    return jsonify(
        query=q,
        results=[
            {
                "iri": h.iri,
                "label": h.label,
                "page": page_url(p.catalog, h.iri),
                "matched": h.matched,
                "field": h.field,
                "match": h.match,
            }
            for h in hits
        ],
    )


@bp.route("/search")
def search() -> Response:
    """Search results as a page (the search box works without JavaScript)."""
    q = request.args.get("q", "")
    p = pages()
    if not normalize(q) or len(q) > MAX_QUERY_CHARS:
        return html("search.html", q=q, hits=[], message="Type a label, synonym or identifier.")
    hits = [(h, p.catalog.local_path(h.iri)) for h in p.index.search(q, 50)]
    return html("search.html", q=q, hits=hits, message=None if hits else "No term matches.")


@bp.route("/downloads/")
def downloads() -> Response:
    """The list of release files."""
    return html("downloads.html", files=sorted(pages().files))


@bp.route("/downloads/<path:name>")
def download(name: str) -> Response:
    """A release file, only if the manifest names it (so no other path can be reached)."""
    p = pages()
    if name not in p.files:
        return not_found(f"No release file named {name!r}; see /downloads/.")
    path = p.release_dir / name
    if not path.is_file():
        return not_found(f"The release file {name!r} is missing on this server.")
    ext = name.rsplit(".", 1)[-1]
    if ext in EXTENSIONS:
        return rdf_file(path, EXTENSIONS[ext])
    mimetype = OTHER_TYPES.get(ext, "application/octet-stream")
    resp = release_file(path, mimetype)
    if ext == "svg":
        resp.headers["Content-Security-Policy"] = SVG_CSP
    return resp


@bp.route("/docs")
@bp.route("/docs/")
@bp.route("/docs/<path:name>")
def docs(name: str = "") -> Response:
    """The generated ontology documentation in ``<release>/docs/``, if it was built."""
    folder = pages().release_dir / "docs"
    if not folder.is_dir():
        return not_found(
            "The ontology documentation has not been generated for this release "
            f"(no {folder.name}/ folder in the release directory)."
        )
    if request.path == "/docs":
        return redirect(url_for("pages.docs", name=""), code=301)  # type: ignore[return-value]
    try:
        return send_from_directory(folder.resolve(), name or "index.html", max_age=300)
    except NotFound:
        return not_found(f"No documentation page {name!r}.")


def ontology(version: str | None) -> Response:
    """The whole ontology (RDF/XML by default, other syntaxes by Accept, a page for browsers)."""
    p = pages()
    if version is not None and version != p.version:
        return not_found(f"Release {version!r} is not served here; this server has {p.version}.")
    chosen = negotiate_graph(None, html_first=False)
    iri = p.catalog.base + "cytokg.owl"
    if chosen == "text/html":
        return term_page(iri)
    path = p.release_dir / ONTOLOGY_FILES[chosen]
    if not path.is_file():
        return not_found(f"This release has no {ONTOLOGY_FILES[chosen]}.")
    return rdf_file(path, chosen)


@bp.route("/releases/<version>/cytokg.owl")
def release_ontology(version: str) -> Response:
    """The version IRI: that release's ontology, 404 for any other version."""
    return ontology(version)


def explain_url(triple: tuple[str, str, str]) -> str:
    """The derivation page of a triple given in N-Triples (IRIs passed bare, literals quoted)."""
    s, p, o = (t[1:-1] if t.startswith("<") else t for t in triple)
    return url_for("pages.explain_page", s=s, p=p, o=o)


def why_link(s: Term, p: Term, o: Term) -> str | None:
    """The "why?" link of a statement, when the release has a derivation for it."""
    explainer = pages().explainer
    triple = (nt_of(s), nt_of(p), nt_of(o))
    if explainer is None or None in triple or not explainer.is_inferred(triple):  # type: ignore[arg-type]
        return None
    return explain_url(triple)  # type: ignore[arg-type]


@bp.route("/explain")
def explain_page() -> Response:
    """Why the release holds an inferred triple: its derivation down to asserted facts."""
    p = pages()
    unknown = sorted(set(request.args) - {"s", "p", "o"})
    if unknown:
        raise errors.bad_request(f"Unknown parameter(s): {', '.join(unknown)}. Allowed: s, p, o.")
    values = [request.args.getlist(name) for name in ("s", "p", "o")]
    if any(len(v) != 1 or not v[0].strip() or len(v[0]) > MAX_TERM_CHARS for v in values):
        raise errors.bad_request(
            "Give one 's', 'p' and 'o' each: the statement's subject, property and value "
            f"(IRIs, CURIEs or a quoted literal, at most {MAX_TERM_CHARS} characters)."
        )
    if p.explainer is None:
        return not_found("This release has no derivations file.")
    try:
        triple = tuple(nt_term(v[0], p.explainer.prefixes) for v in values)
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    if not p.explainer.is_inferred(triple):  # type: ignore[arg-type]
        return not_found(
            "This statement is not an inferred statement of this release: it is asserted "
            "(see its term page for its sources) or not in the graph."
        )
    tree = p.explainer.tree(triple)  # type: ignore[arg-type]
    view = derivation_view(p.catalog, p.explainer, tree, explain_url, request.script_root)
    return html("explain.html", tree=view, text=p.explainer.text(tree.triple))


def term_page(iri: str) -> Response:
    """Render the HTML page of a term."""
    rt = runtime()
    p = pages()
    started = time.monotonic()
    view = term_view(
        p.catalog, rt.pool, iri, rt.settings.time_limit, request.script_root, why_link,
        p.schema,
    )
    path = p.catalog.local_path(iri) or ""
    resp = html(
        "term.html",
        term=view,
        path=path,
        alternates=[(ext, formats.BY_TOKEN[EXTENSIONS[ext]]) for ext in ALTERNATES],
    )
    resp.headers["Vary"] = "Accept"
    resp.headers["Server-Timing"] = f"term;dur={(time.monotonic() - started) * 1000:.1f}"
    return resp


def term_rdf(iri: str, token: str) -> Response:
    """The RDF of a term (its description and its axiom annotations) in one graph format."""
    rt = runtime()
    job = Job(describe_query(iri), None, None, None, token, rt.settings.row_limit)
    body, fmt_token = run_job(rt.pool, job, rt.settings.time_limit)
    fmt = formats.BY_TOKEN[fmt_token]
    resp = Response(body, content_type=formats.content_type(fmt))
    resp.headers["Vary"] = "Accept"
    return resp


def named_graph(iri: str) -> Response:
    """A named graph IRI redirects (303) to its release file: Turtle, or N-Triples by Accept."""
    graph_files = {**GRAPH_FILES, **OPTIONAL_GRAPH_FILES}
    stem = graph_files[iri].rsplit(".", 1)[0]
    chosen = formats.negotiate(
        request.headers.get("Accept"), ["text/turtle", "application/n-triples"]
    )
    ext = "nt" if chosen == "application/n-triples" else "ttl"
    target = f"{stem}.{ext}" if f"{stem}.{ext}" in pages().files else graph_files[iri]
    resp = redirect(url_for("pages.download", name=target), code=303)
    resp.headers["Vary"] = "Accept"
    return resp  # type: ignore[return-value]


def loose_name(name: str) -> Response | None:
    """Redirect a name written loosely (``/il-6``, ``/Il6.ttl``) to its term, if only one fits.

    Several candidates go to the search page rather than to a guess; none gives None (a 404).
    """
    p = pages()
    stem, extension = name, ""
    if "." in name:
        head, ext = name.rsplit(".", 1)
        if ext.lower() in EXTENSIONS or ext.lower() == "html":
            stem, extension = head, "." + ext.lower()
    if len(stem) > MAX_QUERY_CHARS or "/" in stem:
        return None
    iri, candidates = p.index.resolve_name(stem)
    if iri is not None:
        path = p.catalog.local_path(iri)
        if path is None:
            return None
        target = request.script_root + path + extension
        if request.query_string:
            target += "?" + request.query_string.decode("latin-1")
        resp = redirect(target, code=301)
        resp.headers["Vary"] = "Accept"
        return resp  # type: ignore[return-value]
    if candidates:
        return redirect(url_for("pages.search", q=stem), code=302)  # type: ignore[return-value]
    return None


@bp.route("/<path:name>")
def resolve(name: str) -> Response:
    """Dereference an IRI of our namespace: a page, or RDF by Accept or by extension."""
    p = pages()
    catalog = p.catalog
    if name == "cytokg.owl":
        return ontology(None)
    iri = catalog.iri_for(name)
    if iri in runtime().engine.graphs:
        return named_graph(iri)
    extension: str | None = None
    if iri not in catalog.terms and "." in name:
        stem, ext = name.rsplit(".", 1)
        if (ext in EXTENSIONS or ext == "html") and catalog.iri_for(stem) in catalog.terms:
            iri, extension = catalog.iri_for(stem), ext
    if iri not in catalog.terms:
        return loose_name(name) or not_found(f"No term {iri} in this release.")
    chosen = negotiate_graph(extension, html_first=True)
    if chosen == "text/html":
        return term_page(iri)
    return term_rdf(iri, chosen)
