"""The `assistant` command: ingest content, ask questions, serve the chat API and page, and the
MCP tools over stdio.

This is the one module that ties the core to ingest/ and api/.
"""

import argparse
import contextlib
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.cli.analytics import add_gaps_command, run_gaps
from assistant.local_server import LocalServer, LocalServerClient, ServerRefused, server_file
from assistant.local_server import find as find_server
from assistant.settings import Settings
from assistant.stores import StoreError, StoreInUse
from assistant.types import Answer, Audience, Citation, Mode
from evals import command as eval_command

EXAMPLES = """\
examples:
  assistant ingest corpora/                 index a folder (re-run to sync changes)
  assistant ingest docs/internal --audience internal
  assistant ingest customers/acme --tenant acme   only callers of tenant acme read these
  assistant ask "How do I reset my password?"
  assistant ask "What is the refund approval limit?" --audience internal --mode internal --json
  assistant ask "How do I export invoices?" --tenant acme   shared content plus acme's own
  assistant serve --port 8000               chat page on http://127.0.0.1:8000 (MCP at /mcp)
  assistant mcp                             MCP tools over stdio for a local agent
  assistant analytics --since 7d            knowledge gaps and resolution rates (or: gaps)
  assistant eval                            score answers on corpora/ (the CI quality gate)

environment:
  ASSISTANT_DATA_DIR   where the embedded Qdrant store lives (default ./data)
  ASSISTANT_API_KEYS   key=audience[:tenant],... for the HTTP API

While `assistant serve` runs on the same ASSISTANT_DATA_DIR it holds the embedded store, and
`ingest` and `ask` go through it by themselves (it announces itself in DATA_DIR/server.json).
"""


SERVE_SETTINGS = """settings that matter most (environment variables):
  ASSISTANT_DATA_DIR       the index and app database (default ./data)
  ASSISTANT_API_KEYS       key=public|partner|internal[:tenant],...: who may read what
                           (without keys every caller is public)
  ASSISTANT_INGEST_ROOT    the folder internal keys may index with POST /v1/ingest (off if
                           unset; not needed for `assistant ingest` on this machine)
  ASSISTANT_CORS_ORIGINS   sites that embed the widget or call the API from a browser
  LLM_BASE_URL, LLM_MODEL  an OpenAI-compatible endpoint for written answers (default:
                           extractive answers quoted from the sources)
  QDRANT_URL               a Qdrant server instead of the embedded store
  DATABASE_URL             the app database (default SQLite in ASSISTANT_DATA_DIR)

The server holds the embedded store while it runs. `assistant ingest` and `assistant ask` on
this machine, with the same ASSISTANT_DATA_DIR, go through it by themselves: it writes its
loopback URL and a token only your user can read to ASSISTANT_DATA_DIR/server.json (removed
when it stops), and takes any path and audience from them, as they could read the data folder
anyway. Nothing to stop or restart to add your own content."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answers how-to questions from your courses, KB articles, video transcripts "
        "and forum threads, with cited sources.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="index files and folders (re-running syncs: adds, updates, deletes)",
        description="Index files and folders. Re-running on a folder makes the index match it: "
        "new and changed documents are (re)indexed, unchanged ones skipped, vanished ones "
        "deleted. Bad files are reported and skipped.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--audience",
        choices=[a.value for a in Audience],
        default="public",
        help="audience for documents whose metadata names none (default: public)",
    )
    ingest.add_argument(
        "--tenant",
        type=tenant_name,
        metavar="NAME",
        help="tenant for documents whose metadata names none: only callers of that tenant "
        "(API keys key=audience:NAME, `ask --tenant NAME`) read them. Without it documents "
        "are shared by every tenant",
    )
    ingest.add_argument(
        "--type",
        dest="content_type",
        choices=["auto", "course", "kb", "transcript", "thread"],
        default="auto",
        help="content kind; auto decides by file type (default)",
    )
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    ask = commands.add_parser(
        "ask",
        help="answer one question with cited sources",
        description="Answer one question from the ingested content, with numbered citations, "
        "as the chat API would for this audience and mode; below the confidence threshold the "
        "answer says the content does not cover it. Reads the index in ASSISTANT_DATA_DIR "
        "(or QDRANT_URL).",
        epilog='example: assistant ask "How do I reset my password?" --mode agent --json',
    )
    ask.add_argument("question")
    ask.add_argument(
        "--audience",
        choices=[a.value for a in Audience],
        default="public",
        help="who is asking: decides which content may be read (default: public)",
    )
    ask.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default="customer",
        help="customer: public sources; agent: ticket-ready; internal: all sources the "
        "audience may read",
    )
    ask.add_argument(
        "--tenant",
        type=tenant_name,
        metavar="NAME",
        help="ask as this tenant: its own content and the shared content (default: shared "
        "content only)",
    )
    ask.add_argument("--session", help="continue the conversation with this session id")
    ask.add_argument(
        "--product-version",
        metavar="V",
        help="the product version you use, e.g. 4.1: its content first, other versions only "
        "when none matches (labelled)",
    )
    ask.add_argument(
        "--page",
        metavar="PATH",
        help="the product page you are on, e.g. /settings/reminders: content made for it "
        "ranks higher (see `pages` in the README's metadata keys)",
    )
    ask.add_argument("--json", action="store_true", help="print the Answer object as JSON")

    serve = commands.add_parser(
        "serve",
        help="start the HTTP API and the chat page",
        description="Serve the chat page at / and the HTTP API (/v1/chat, /v1/chat/completions, "
        "/v1/search, /v1/feedback, /healthz) over the index in ASSISTANT_DATA_DIR. Settings "
        "come from the environment or a .env file (README, Configuration).",
        epilog=SERVE_SETTINGS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")

    mcp = commands.add_parser(
        "mcp",
        help="serve the MCP tools (search, answer, get_document) over stdio for local agents",
        description="Serve the Model Context Protocol tools search, answer and get_document "
        "over stdin/stdout, for agents that start the server themselves (Claude Desktop, "
        "Cursor, VS Code, ...). `assistant serve` offers the same tools over HTTP at /mcp.",
        epilog="caller: there is no Authorization header on stdio, so the caller is the API "
        "key in the environment variable named by --api-key-env (ASSISTANT_MCP_API_KEY by "
        "default), looked up in ASSISTANT_API_KEYS or ASSISTANT_API_KEYS_FILE like an HTTP "
        "key: its audience and tenant decide what the tools read. Without that variable the "
        "caller is public (shared public content only), unless "
        "ASSISTANT_ALLOW_ANONYMOUS=false. An unknown key exits with status 2. Rate limits and "
        "the question log apply as on /v1/chat. The embedded store belongs to one process: "
        "while `assistant serve` runs on the same ASSISTANT_DATA_DIR, use its /mcp instead.",
    )
    mcp.add_argument(
        "--api-key-env",
        default="ASSISTANT_MCP_API_KEY",
        metavar="VAR",
        help="environment variable holding the caller's API key (default: "
        "ASSISTANT_MCP_API_KEY; unset means a public caller)",
    )

    add_gaps_command(commands)

    evaluate = commands.add_parser(
        "eval",
        help="run the Ragas evaluation suite; exit 1 below the thresholds",
        description=eval_command.DESCRIPTION,
        epilog=eval_command.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    eval_command.add_arguments(evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        return _run(args, settings)
    except BrokenPipeError:
        # The reader went away (`assistant ask --json | head`): nothing more to print, and
        # Python would print a traceback flushing stdout at exit unless it goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "ingest":
            return _ingest(args, settings)
        if args.command == "ask":
            return _ask(args, settings)
        if args.command in ("analytics", "gaps"):
            return run_gaps(args, settings)
        if args.command == "eval":
            return eval_command.run(args, settings)
        if args.command == "mcp":
            from api.mcp_server import run_stdio

            return run_stdio(settings, api_key=os.environ.get(args.api_key_env) or None)
        return _serve(args, settings)
    except StoreInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.command in ("ingest", "ask"):
            print(
                f"  `assistant {args.command}` goes through a running `assistant serve` on this "
                f"ASSISTANT_DATA_DIR, but none announced itself in "
                f"{server_file(settings.data_dir)}. If a server holds the store, restart it "
                "with this version of the assistant; otherwise wait for the other command.",
                file=sys.stderr,
            )
        return 1
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ServerRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if exc.usage else 1


def _running_server(settings: Settings) -> LocalServer | None:
    """The `assistant serve` that holds this data folder's embedded store, if one runs."""
    if settings.qdrant_url:
        return None  # a Qdrant server: every process opens the store itself
    server, unused_because = find_server(settings.data_dir)
    if unused_because:
        print(
            f"note: ignoring {server_file(settings.data_dir)}: {unused_because}",
            file=sys.stderr,
        )
    return server


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    if server := _running_server(settings):
        return _ingest_through(server, args)

    from ingest.free_space import check_free_space
    from ingest.wiring import build_ingester

    if not settings.qdrant_url:
        check_free_space(settings.data_dir, min_free_mb=settings.min_free_mb)
    job = build_ingester(settings)
    try:
        summary = job.run(
            args.paths,
            default_audience=args.audience,
            default_tenant=args.tenant,
            content_type=args.content_type,
            progress=None if not args.json else False,
        )
    finally:
        job.store.close()
    _print_ingest_summary(summary.to_dict(), as_json=args.json)
    return 0


def _ingest_through(server: LocalServer, args: argparse.Namespace) -> int:
    # The server resolves nothing against its own folder: absolute paths, symlinks kept, so
    # documents are named and synced exactly as a direct run names them.
    paths = [str(path.absolute()) for path in args.paths]
    typed = dict(zip(paths, map(str, args.paths), strict=True))
    print(
        f"(ingesting through the running server at {server.url}; the summary follows when it "
        "is done)",
        file=sys.stderr,
    )
    try:
        summary = LocalServerClient(server).ingest(
            paths,
            audience=args.audience,
            tenant=args.tenant,
            content_type=args.content_type,
        )
    except KeyboardInterrupt:
        print(
            f"\nStopped waiting; the server at {server.url} finishes this ingest by itself. Run "
            "the command again to see what is indexed (it skips what is done).",
            file=sys.stderr,
        )
        return 130
    for failure in summary["failed"]:  # a path the run could not read, as it was typed
        failure["file"] = typed.get(failure["file"], failure["file"])
    _print_ingest_summary(summary, as_json=args.json)
    return 0


def _print_ingest_summary(summary: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"added {summary['added']}, updated {summary['updated']}, "
        f"unchanged {summary['unchanged']}, deleted {summary['deleted']}, "
        f"failed {len(summary['failed'])} "
        f"({summary['chunks_written']} chunks written in {summary['seconds']:.1f}s)"
    )
    print(
        f"  {summary['documents_per_second']:.1f} docs/s, "
        f"{summary['chunks_per_second']:.1f} chunks/s, "
        f"{summary['tokens_per_second']:.0f} tokens/s"
    )
    for failure in summary["failed"]:
        print(f"  failed: {failure['file']}: {failure['reason']}")
    if summary["truncated_chunks"]:
        print(f"  warning: {summary['truncated_chunks']} chunks exceed the model's token window")


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if server := _running_server(settings):
        print(f"(through the running server at {server.url})", file=sys.stderr)
        answer = LocalServerClient(server).ask(
            args.question,
            audience=args.audience,
            tenant=args.tenant,
            mode=args.mode,
            session_id=args.session,
            product_version=args.product_version,
            page=args.page,
        )
        _print_answer(answer, as_json=args.json)
        return 0

    from assistant.wiring import build_components

    components = build_components(settings)
    try:
        answer = components.answerer.ask(
            args.question,
            audience=Audience(args.audience),
            mode=Mode(args.mode),
            session_id=args.session,
            product_version=args.product_version,
            page=args.page,
            tenant=args.tenant,
        )
    finally:
        components.close()
    _print_answer(answer, as_json=args.json)
    return 0


def _print_answer(answer: Answer, *, as_json: bool) -> None:
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            print(f"[{c.id}] {c.title} — {c.url or c.document}{citation_label(c)}")
    for warning in answer.warnings:
        print(f"note: {warning}")
    print(f"\n(confidence {answer.confidence:.2f}, session {answer.session_id})")


def tenant_name(value: str) -> str:
    """A `--tenant` value: the name API keys give after the audience (`key=public:acme`)."""
    name = value.strip()
    if not name or "," in name:
        raise argparse.ArgumentTypeError(
            f"invalid tenant {value!r}: use a name without commas, as in key=public:acme"
        )
    return name


def citation_label(citation: Citation) -> str:
    """` (version 4.1; by ana; not reviewed)`: what to weigh before trusting a source."""
    parts = [f"version {citation.product_version}"] if citation.product_version else []
    parts += [f"by {citation.author}"] if citation.author else []
    parts += [] if citation.reviewed else ["not reviewed"]
    return f" ({'; '.join(parts)})" if parts else ""


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from api.app import create_app
    from api.connections import ConnectionLimits, fit_descriptor_limit, guarded_protocol
    from api.local_operator import AnnouncingServer

    host = args.host or settings.host
    port = args.port or settings.port
    trusted_proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    print(f"Chat page and API on http://{host}:{port} (docs at /docs)", file=sys.stderr)
    max_connections = fit_descriptor_limit(settings.max_connections)
    if max_connections < settings.max_connections:
        print(
            f"The open-file limit (ulimit -n) fits {max_connections} connections, not "
            f"ASSISTANT_MAX_CONNECTIONS={settings.max_connections}; serving at most "
            f"{max_connections}. Raise the limit or lower the setting.",
            file=sys.stderr,
        )
    limits = ConnectionLimits(
        max_connections=max_connections,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        request_timeout=settings.request_timeout_seconds,
    )
    # With the embedded store, this server is the one process that can open it: the command
    # line on this machine reaches it with this token (api/local_operator.py).
    local_token = None if settings.qdrant_url else secrets.token_urlsafe(32)
    config = uvicorn.Config(
        create_app(settings, local_token=local_token),
        host=host,
        port=port,
        log_level="info",
        # The app logs each request as JSON without query strings; uvicorn's own access log
        # would write questions from /v1/search?q=… into the logs.
        access_log=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        http=guarded_protocol(limits),
        ws="none",  # the API has no WebSocket routes
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise (its
        # FORWARDED_ALLOW_IPS), which lets any local client pick its rate-limit bucket.
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or None,
    )
    server = (
        AnnouncingServer(config, data_dir=settings.data_dir, token=local_token)
        if local_token
        else uvicorn.Server(config)
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
