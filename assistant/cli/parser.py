"""The `assistant` command line: its subcommands, their options and the help that teaches
them (`assistant --help`, `assistant COMMAND --help`)."""

import argparse
from pathlib import Path

from assistant.cli.analytics import add_gaps_command
from assistant.types import Audience, Mode
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


def tenant_name(value: str) -> str:
    """A `--tenant` value: the name API keys give after the audience (`key=public:acme`)."""
    name = value.strip()
    if not name or "," in name:
        raise argparse.ArgumentTypeError(
            f"invalid tenant {value!r}: use a name without commas, as in key=public:acme"
        )
    return name
