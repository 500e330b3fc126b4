"""The `cytokg` command: build, validate, export, query and serve the knowledge graph.

This is the one module of `kg` that knows the `server` package (it starts it). Every error ends in
a one-line message on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kg.errors import BuildError
from kg.exports import SPECIES, TABLE_FORMATS
from server.mcp.options import add_arguments as add_mcp_arguments
from server.options import add_arguments as add_server_arguments

EXPORT_GRAPHS = {"asserted": "cytokg-asserted.nt", "inferred": "cytokg-inferred.nt",
                 "full": "cytokg.nt"}
EXPORT_FORMATS = ("turtle", "nt", "json-ld", "xml")
EXPORT_EXTENSIONS = {"turtle": "ttl", "nt": "nt", "json-ld": "jsonld", "xml": "owl"}
# `expected` writes the .expected.tsv form of a competency question (see CONTRIBUTING.md).
QUERY_FORMATS = ("table", "json", "csv", "tsv", "expected")


def project_from(args: argparse.Namespace):
    """Make the Project that the command works on from the --root and --out options."""
    from kg.build import Project

    root = Path(args.root).resolve()
    out = Path(args.out).resolve() if args.out else root / "build"
    return Project(root=root, out=out)


def ensure_built(args: argparse.Namespace, quiet: bool = True) -> Path:
    """Build the release if the sources changed, and return its directory."""
    from kg.build import build

    project = project_from(args)
    build(project, progress=(lambda _: None) if quiet else say)
    return project.out


def say(message: str) -> None:
    """Print a progress line to stderr, keeping stdout for data."""
    print(message, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    """Run load -> validate -> reason -> release and print a summary."""
    from kg.build import build

    cache_dir = Path(args.cache_dir).resolve() if args.cache_dir else None
    outcome = build(project_from(args), progress=say, force=args.force, reasoner=args.reasoner,
                    cache=not args.no_cache, cache_dir=cache_dir)
    counts = outcome.manifest["counts"]
    say(f"release {outcome.manifest['version']}: {counts['asserted']} asserted + "
        f"{counts['inferred']} inferred = {counts['full']} triples")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Load and validate the sources without reasoning or writing anything."""
    from kg.build import load_and_validate

    load_and_validate(project_from(args), progress=say)
    say("valid")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write one graph of the release in one format to a file or stdout."""
    if args.format in TABLE_FORMATS:
        return export_tables(args)
    out = ensure_built(args)
    stem = EXPORT_GRAPHS[args.graph].removesuffix(".nt")
    released = out / f"{stem}.{EXPORT_EXTENSIONS[args.format]}"
    # The release already holds most graph/format pairs: copy those, byte for byte.
    data = released.read_bytes() if released.is_file() else render_export(out, args)
    if args.output:
        Path(args.output).write_bytes(data)
        say(f"wrote the {args.graph} graph as {args.format} ({len(data)} bytes) to {args.output}")
    else:
        sys.stdout.buffer.write(data)
    return 0


def export_tables(args: argparse.Namespace) -> int:
    """Write a table export (pairs, LIANA, CellPhoneDB, KGX) of the built release, unrebuilt."""
    from kg.exports import DIRECTORY_FORMATS, render
    from kg.exports.files import write_atomic, write_directory
    from kg.exports.pairs import ExportError

    out = project_from(args).out
    try:
        files = render(out, args.format, args.species, progress=say)
    except ExportError as exc:
        raise BuildError(str(exc)) from None
    if args.format in DIRECTORY_FORMATS:
        if not args.output:
            raise BuildError(f"--format {args.format} writes several files: give -o DIRECTORY")
        written = write_directory(Path(args.output), files)
        species = "" if args.format == "kgx" else f" ({args.species})"
        say(f"wrote {args.format}{species}: " + ", ".join(str(p) for p in written))
        return 0
    (name, data), = files.items()
    if args.output:
        write_atomic(Path(args.output), data)
        rows = len(data.splitlines()) - 1
        say(f"wrote {name} ({rows} rows) to {args.output}")
    else:
        sys.stdout.buffer.write(data)
    return 0


def render_export(out: Path, args: argparse.Namespace) -> bytes:
    """Serialise a graph of the release in a format the release does not ship."""
    from rdflib import Graph

    from kg.release import CONTEXT, graph_of, serialise
    from kg.vocab import load_context

    graph = Graph().parse(out / EXPORT_GRAPHS[args.graph], format="nt")
    context = json.loads((out / CONTEXT).read_text(encoding="utf-8"))
    return serialise(graph_of(graph, load_context(out / CONTEXT)), args.format, context)


def cmd_query(args: argparse.Namespace) -> int:
    """Run a SPARQL query, given inline or as a file, over the built graph."""
    from kg.query import QueryError, format_result, read_query, release_converter, run

    try:
        text = read_query(args.query)
        out = ensure_built(args)
        result = run(out, text, graph=args.graph)
        sys.stdout.write(format_result(result, args.format, release_converter(out)))
    except QueryError as exc:
        raise BuildError(str(exc)) from None
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Print counts per class and family, mapped and unmapped, from the built graph."""
    from kg.coverage import coverage, coverage_report
    from kg.stats import store_from_ntriples, summarise, text_report

    out = ensure_built(args)
    store = store_from_ntriples((out / "cytokg.nt").read_bytes())
    sys.stdout.write(text_report(summarise(store)) + "\n" + coverage_report(coverage(store)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Build if the sources changed, then serve the release over HTTP."""
    from server.options import PortInUse, refuse_busy_port

    try:
        refuse_busy_port(args.host, args.port)  # a busy port fails before the build, not after
        from server.run import serve  # Flask and Granian load only once the port is known free

        out = ensure_built(args, quiet=False)
        if args.queries_dir is None:
            args.queries_dir = project_from(args).root / "queries"
        return serve(out, args)
    except PortInUse as exc:
        raise BuildError(str(exc)) from None


def cmd_mcp(args: argparse.Namespace) -> int:
    """Build if the sources changed (unless --no-build), then serve the release over MCP."""
    from server.mcp.app import serve  # the MCP SDK loads only for this command

    if args.no_build:
        out = project_from(args).out
    else:  # over stdio, stdout carries the protocol: nothing of the build may print there
        with contextlib.redirect_stdout(sys.stderr):
            out = ensure_built(args)
    if args.queries_dir is None:
        args.queries_dir = project_from(args).root / "queries"
    return serve(out, args)


def cmd_explain(args: argparse.Namespace) -> int:
    """Print why the release holds a triple: its derivation down to asserted, sourced facts."""
    from kg.explain import explain

    out = ensure_built(args)
    try:
        node, explainer = explain(out, args.subject, args.predicate, args.object)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    if args.format == "json":
        sys.stdout.write(json.dumps(node.as_dict(explainer), indent=2, ensure_ascii=False) + "\n")
    elif node.status == "absent":
        say(f"not in the graph: {explainer.text(node.triple)}")
    else:
        sys.stdout.write(explainer.render_text(node))
    return 2 if node.status == "absent" else 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Build if needed, then load the release into a Graph Store or a Virtuoso server."""
    import os

    kind, _, where = (args.store or f"gsp:{args.to}").partition(":")
    if kind not in ("gsp", "virtuoso") or not where:
        raise BuildError(f"unknown store {args.store!r}; use gsp:URL or virtuoso:HOST[:PORT]")
    if kind == "gsp":
        from kg.publishers.gsp import publish

        out = ensure_built(args, quiet=False)
        sent = publish(out, where, progress=say)
        say(f"published {len(sent)} graphs ({sum(sent.values())} bytes) to {where}")
        return 0
    from kg.publishers import virtuoso

    password = os.environ.get(args.password_env)
    if password is None:
        raise BuildError(f"set {args.password_env} to the password of Virtuoso user {args.user}")
    server = virtuoso.Virtuoso.from_spec(where, args.user, password, args.isql)
    out = ensure_built(args, quiet=False)
    counts = virtuoso.publish(out, server, load_dir=args.load_dir, time_limit=args.time_limit,
                              max_rows=args.max_rows, progress=say)
    say(f"published {len(counts)} graphs ({sum(counts.values())} triples) to Virtuoso at "
        f"{server.host}:{server.port}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print what changed between two releases, and write the same as TSV with --tsv."""
    from kg.diff import DiffError, diff, summary, tsv

    try:
        old, new, changes, conv = diff(Path(args.old), Path(args.new))
    except DiffError as exc:
        raise BuildError(str(exc)) from None
    sys.stdout.write(summary(old, new, changes, conv, (args.old, args.new)))
    if args.tsv:
        Path(args.tsv).write_text(tsv(changes, conv), encoding="utf-8")
        say(f"wrote {len(changes)} change(s) to {args.tsv}")
    return 0


def parser() -> argparse.ArgumentParser:
    """Declare the command line."""
    main = argparse.ArgumentParser(prog="cytokg", description=__doc__.splitlines()[0])
    main.add_argument("--root", default=".", help="project root holding ontology/ (default: .)")
    main.add_argument("--out", default=None, help="release directory (default: ROOT/build)")
    commands = main.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="load, validate, reason and release into build/")
    build.add_argument("--force", action="store_true",
                       help="rebuild even if up to date; a stage whose inputs hash as when its "
                            "output was cached reuses that output (byte-identical)")
    build.add_argument("--no-cache", action="store_true",
                       help="recompute every stage instead of reusing cached outputs (the "
                            "results still refresh the cache)")
    build.add_argument("--cache-dir", default=None,
                       help="the stage cache (default: .<out>-cache beside the release "
                            "directory, e.g. ROOT/.build-cache)")
    build.add_argument("--reasoner", choices=("reasonable", "owlrl"), default="reasonable",
                       help="OWL 2 RL engine: reasonable with our completion rules (fast, the "
                            "default) or owlrl (the reference); both give the same closure")
    build.set_defaults(func=cmd_build)

    validate = commands.add_parser("validate", help="check the sources (SHACL, quality checks)")
    validate.set_defaults(func=cmd_validate)

    export = commands.add_parser("export", help="write a graph of the release in a format")
    export.add_argument("--graph", choices=sorted(EXPORT_GRAPHS), default="full")
    export.add_argument("--format", choices=EXPORT_FORMATS + TABLE_FORMATS, default="turtle",
                        help="an RDF format, or a table export of the built release: pairs "
                             "(gene-pair TSV), liana (LIANA resource CSV), cellphonedb (v5 "
                             "input CSVs) or kgx (KGX nodes/edges TSV); the last two need -o DIR")
    export.add_argument("--species", choices=SPECIES, default="human",
                        help="genes of the pairs, liana and cellphonedb exports (default: human)")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    export.set_defaults(func=cmd_export)

    query = commands.add_parser("query", help="run a SPARQL query over the built graph")
    query.add_argument("query", metavar="QUERY_OR_FILE", help="a query, or a file holding one")
    query.add_argument("--format", choices=QUERY_FORMATS, default="table")
    query.add_argument("--graph", choices=sorted(EXPORT_GRAPHS), default="full",
                       help="query the asserted, inferred or full graph (default: full)")
    query.set_defaults(func=cmd_query)

    stats = commands.add_parser("stats", help="counts per family, mapped vs unmapped")
    stats.set_defaults(func=cmd_stats)

    explain = commands.add_parser(
        "explain", help="show why the graph holds a triple, down to asserted facts and sources"
    )
    explain.add_argument("subject", help="a CURIE (cytokg:IL6), a bare local name or an IRI")
    explain.add_argument("predicate", help="a CURIE, a bare local name, an IRI, or 'a'")
    explain.add_argument("object", help='a CURIE, a bare local name, an IRI or a literal ("...")')
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.set_defaults(func=cmd_explain)

    publish = commands.add_parser(
        "publish", help="load the release into a Graph Store Protocol store or Virtuoso"
    )
    target = publish.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--to", metavar="URL",
        help="the store's Graph Store Protocol URL, e.g. http://127.0.0.1:7878/store "
             "(same as --store gsp:URL)",
    )
    target.add_argument(
        "--store", metavar="STORE",
        help="gsp:URL (PUT each graph) or virtuoso:HOST[:PORT] (OpenLink Virtuoso's SQL port, "
             "default 1111: bulk-load, then switch versions in one transaction)",
    )
    from kg.publishers.virtuoso import DEFAULT_MAX_ROWS, DEFAULT_TIME_LIMIT

    virt = publish.add_argument_group("Virtuoso (--store virtuoso:...)")
    virt.add_argument("--user", default="dba", help="SQL user (default dba)")
    virt.add_argument("--password-env", default="VIRTUOSO_PASSWORD", metavar="VAR",
                      help="environment variable holding the user's password "
                           "(default VIRTUOSO_PASSWORD)")
    virt.add_argument("--isql", default=None, metavar="PATH",
                      help="Virtuoso's SQL client (default: isql-vt, isql-v or isql on PATH)")
    virt.add_argument("--load-dir", default=None, metavar="DIR",
                      help="the release directory as the Virtuoso host sees it, listed in its "
                           "DirsAllowed (default: the release directory, for a local server)")
    virt.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                      help="Virtuoso's own query time limit, [SPARQL] MaxQueryExecutionTime "
                           f"(default {DEFAULT_TIME_LIMIT} s: above cytokg serve's 10 s)")
    virt.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, metavar="N",
                      help=f"Virtuoso's [SPARQL] ResultSetMaxRows (default {DEFAULT_MAX_ROWS}: "
                           "keep it above cytokg serve's --row-limit; Virtuoso 7.2 applies it "
                           "when it next starts)")
    publish.set_defaults(func=cmd_publish)

    diff = commands.add_parser(
        "diff", help="what changed between two releases: terms, pairs, identifiers"
    )
    diff.add_argument("old", metavar="OLD", help="the older release directory or its manifest.json")
    diff.add_argument("new", metavar="NEW", help="the newer release directory or its manifest.json")
    diff.add_argument("--tsv", metavar="FILE", help="also write the changes as TSV to FILE")
    diff.set_defaults(func=cmd_diff)

    serve = commands.add_parser("serve", help="build if needed, then serve the SPARQL endpoint")
    add_server_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    mcp = commands.add_parser("mcp", help="serve the release to AI assistants over the Model "
                                          "Context Protocol (stdio, or --http)")
    add_mcp_arguments(mcp)
    mcp.set_defaults(func=cmd_mcp)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and turn known errors into a one-line message and exit status."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BuildError as exc:
        print(f"cytokg: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cytokg: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cytokg: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
