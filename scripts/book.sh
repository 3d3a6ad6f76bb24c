#!/usr/bin/env bash
# Builds the book (docs/, mdBook) and checks it:
#   - mdbook builds it without a warning;
#   - every link between its pages resolves, anchors included, and every page is in SUMMARY.md;
#   - docs/reference/cli.md shows exactly what `bia --help` and each subcommand's `--help` print.
#
#   scripts/book.sh               build and check (the book lands in target/book)
#   scripts/book.sh --update-cli  rewrite the help blocks of docs/reference/cli.md from the binary
#   scripts/book.sh --walkthrough also run Getting started: scaffold, build, test, serve on
#                                 ports 9000/8000 and call it (a few minutes), comparing output
#
# Installs mdbook into $BIA_TOOLS_DIR (default $HOME/.cache/bia-tools) when it is missing: about
# 1.5 minutes on two cores, once. Needs python3. The doc tests of the guides run with the crate's
# tests: `cargo test --doc -p bia --features testing`.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_flags --update-cli=update_cli --walkthrough=walkthrough -- "$@"

MDBOOK_VERSION=0.5.4
tools="${BIA_TOOLS_DIR:-$HOME/.cache/bia-tools}/mdbook-$MDBOOK_VERSION"
mdbook="$tools/bin/mdbook"

step() {
    echo "==> $*"
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "scripts/book.sh: python3 is missing; install it (Debian: apt-get install python3)" >&2
    exit 1
fi

if [ ! -x "$mdbook" ]; then
    step "cargo install mdbook $MDBOOK_VERSION into $tools (once)"
    # Without the serve and watch features: the check only builds.
    cargo install mdbook --locked --version "$MDBOOK_VERSION" --no-default-features \
        --features search --root "$tools"
fi

# The checks, in Python: `cli BIA`, `update BIA` and `links` (after mdbook build).
checker="$(cat <<'PY'
import html.parser, os, re, subprocess, sys
from urllib.parse import unquote, urlsplit

DOCS = "docs"
OUT = os.path.join("target", "book")
CLI_PAGE = os.path.join(DOCS, "reference", "cli.md")
# <!-- help: bia proto add --> then a ```text block with that command's --help.
BLOCK = re.compile(r"<!-- help: (bia(?: [a-z-]+)*) -->\n```text\n(.*?)```\n", re.S)


def fail(message):
    print("scripts/book.sh: " + message, file=sys.stderr)
    sys.exit(1)


def help_of(bia, command):
    args = command.split()[1:] + ["--help"]
    run = subprocess.run([bia] + args, capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"`{command} --help` exited {run.returncode}: {run.stderr.strip()}")
    return "\n".join(line.rstrip() for line in run.stdout.strip("\n").split("\n")) + "\n"


def commands(bia, command="bia"):
    """The command and all its subcommands, from the `Commands:` sections of their help."""
    found = [command]
    text = help_of(bia, command)
    if "\nCommands:\n" in text:
        section = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
        for line in section.split("\n"):
            name = line.split()[0] if line.strip() else ""
            if name and name != "help":
                found += commands(bia, f"{command} {name}")
    return found


def check_cli(bia, update):
    page = open(CLI_PAGE).read()
    documented = {m.group(1): m.group(2) for m in BLOCK.finditer(page)}
    wanted = commands(bia)
    if update:
        page = BLOCK.sub(lambda m: f"<!-- help: {m.group(1)} -->\n```text\n{help_of(bia, m.group(1))}```\n", page)
        for command in wanted:
            if command not in documented:
                page += f"\n## `{command}`\n\n<!-- help: {command} -->\n```text\n{help_of(bia, command)}```\n"
                print(f"added `{command}` at the end of {CLI_PAGE}: move it and describe it")
        open(CLI_PAGE, "w").write(page)
        return
    problems = []
    for command in wanted:
        if command not in documented:
            problems.append(f"`{command}` has no help block in {CLI_PAGE}")
        elif documented[command] != help_of(bia, command):
            problems.append(f"the help block of `{command}` in {CLI_PAGE} differs from `{command} --help`")
    for command in documented:
        if command not in wanted:
            problems.append(f"{CLI_PAGE} shows `{command}`, which the binary does not have")
    if problems:
        fail("\n  ".join(["the CLI reference is out of date:"] + problems)
             + "\n  run scripts/book.sh --update-cli, then review the prose around the blocks")


def chapters():
    """The pages SUMMARY.md lists (HTML comments, such as planned pages, left out)."""
    summary = re.sub(r"<!--.*?-->", "", open(os.path.join(DOCS, "SUMMARY.md")).read(), flags=re.S)
    pages = re.findall(r"\]\(([^)]+\.md)\)", summary)
    for page in pages:
        if not os.path.isfile(os.path.join(DOCS, page)):
            fail(f"SUMMARY.md lists {page}, which does not exist")
    on_disk = {os.path.relpath(os.path.join(root, f), DOCS)
               for root, _, files in os.walk(DOCS) for f in files if f.endswith(".md")}
    orphans = sorted(on_disk - set(pages) - {"SUMMARY.md"})
    if orphans:
        fail("pages missing from SUMMARY.md (add them or delete them): " + ", ".join(orphans))
    return pages


class Page(html.parser.HTMLParser):
    """The ids of a rendered page, and the links inside its <main>."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.depth = set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "main":
            self.depth += 1
        if tag == "a" and self.depth and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1


def parse(path):
    page = Page()
    page.feed(open(path, encoding="utf-8").read())
    return page


def check_links():
    problems, cache = [], {}
    for chapter in chapters():
        source = os.path.join(DOCS, chapter)
        rendered = os.path.join(OUT, chapter[:-3] + ".html")
        if not os.path.isfile(rendered):
            fail(f"mdbook did not render {source} as {rendered}")
        for href in parse(rendered).links:
            url = urlsplit(href)
            if url.scheme or href.startswith("//"):
                continue
            target = rendered if not url.path else os.path.normpath(
                os.path.join(os.path.dirname(rendered), unquote(url.path)))
            if not os.path.abspath(target).startswith(os.path.abspath(OUT) + os.sep):
                problems.append(f"{source}: {href} leaves the book (link to the repository's URL instead)")
            elif not os.path.exists(target):
                problems.append(f"{source}: {href} points to a page that does not exist")
            elif url.fragment and target.endswith(".html"):
                ids = cache.setdefault(target, parse(target).ids)
                if unquote(url.fragment) not in ids:
                    problems.append(f"{source}: {href}: no heading #{url.fragment} on that page")
    if problems:
        fail("\n  ".join(["broken links:"] + problems))
    print(f"every link resolves ({len(chapters())} pages)")


def check_ports():
    import socket
    for port in (9000, 8000):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError as e:
                fail(f"port {port} is taken ({e}); Getting started serves on 9000 and 8000: stop what holds it")


def wait_ready(log):
    import time, urllib.request
    for _ in range(100):
        try:
            with urllib.request.urlopen("http://127.0.0.1:8000/readyz", timeout=1) as answer:
                if answer.status == 200 and answer.read() == b"ready\n":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    fail("the catalog did not answer /readyz within 30 s:\n" + open(log).read())


def check_call(path):
    page = open(os.path.join(DOCS, "getting-started.md")).read()
    after = page.split("```sh\ncargo run --example call\n```\n", 1)[1]
    shown = after.split("```text\n", 1)[1].split("```", 1)[0]
    printed = open(path).read()
    if printed != shown:
        fail(f"`cargo run --example call` printed\n{printed}\nbut docs/getting-started.md shows\n{shown}")


mode = sys.argv[1]
if mode == "links":
    check_links()
elif mode == "ports":
    check_ports()
elif mode == "ready":
    wait_ready(sys.argv[2])
elif mode == "call":
    check_call(sys.argv[2])
else:
    check_cli(sys.argv[2], update=(mode == "update"))
PY
)"

# The CLI's help comes from this checkout's binary. Checkouts that share a target dir share its
# debug/bia, so touch the build script (as scripts/test.sh does) to have this one's linked there.
step "cargo build -p bia-cli"
touch cli/build.rs
bia="$(cargo build -p bia-cli --message-format=json-render-diagnostics |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "bia":
        print(m["executable"])')"
if [ -z "$bia" ] || [ ! -x "$bia" ]; then
    echo "scripts/book.sh: cargo built no bia binary" >&2
    exit 1
fi

if [ "$update_cli" -eq 1 ]; then
    step "docs/reference/cli.md from $bia"
    python3 -c "$checker" update "$bia"
    exit 0
fi

step "docs/reference/cli.md against $bia"
python3 -c "$checker" cli "$bia"

step "mdbook build docs"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$mdbook" build docs >"$log" 2>&1; then
    cat "$log" >&2
    echo "scripts/book.sh: mdbook could not build the book" >&2
    exit 1
fi
if grep -E '(WARN|ERROR)' "$log" >&2; then
    echo "scripts/book.sh: mdbook warned (above); fix the pages" >&2
    exit 1
fi

step "links between the pages"
python3 -c "$checker" links

if [ "$walkthrough" -eq 1 ]; then
    # docs/getting-started.md, step by step: its files come from docs/getting-started/, and what
    # `cargo run --example call` prints must be what the page shows.
    step "Getting started, in a temporary folder"
    dir="$(mktemp -d)"
    trap 'rm -f "$log"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
    python3 -c "$checker" ports
    (cd "$dir" && "$bia" proto add api/catalog/v1/item.proto && "$bia" new catalog --proto api/catalog/v1/item.proto)
    cp docs/getting-started/item_service.rs "$dir/catalog/src/service/item_service.rs"
    cp docs/getting-started/grpc.rs "$dir/catalog/tests/grpc.rs"
    mkdir -p "$dir/catalog/examples"
    cp docs/getting-started/call.rs "$dir/catalog/examples/call.rs"
    (cd "$dir/catalog" && cargo test && cargo build --example call)
    (cd "$dir/catalog" && exec "$CARGO_TARGET_DIR/debug/catalog") >"$dir/server.log" 2>&1 &
    server=$!
    python3 -c "$checker" ready "$dir/server.log"
    (cd "$dir/catalog" && "$CARGO_TARGET_DIR/debug/examples/call") >"$dir/call.txt"
    python3 -c "$checker" call "$dir/call.txt"
    kill -TERM "$server"
    if ! wait "$server"; then
        cat "$dir/server.log" >&2
        echo "scripts/book.sh: the catalog did not exit 0 on SIGTERM" >&2
        exit 1
    fi
    server=""
    echo "Getting started works as written"
fi

step "the book is in target/book/index.html"
