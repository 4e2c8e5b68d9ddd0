"""The `assistant` command: ingest content, ask questions, serve the chat API and page, and the
MCP tools over stdio.

With assistant/cli/parser.py (the options and help), the one part of the core that imports
ingest/, api/ and evals/.
"""

import argparse
import contextlib
import json
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from assistant.cli.analytics import run_gaps
from assistant.cli.parser import build_parser
from assistant.local_server import LocalServer, LocalServerClient, ServerRefused, server_file
from assistant.local_server import find as find_server
from assistant.settings import Settings
from assistant.stores import StoreError, StoreInUse
from assistant.types import Answer, Audience, Citation, Mode
from evals import command as eval_command


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
