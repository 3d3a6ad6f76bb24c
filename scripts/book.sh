#!/usr/bin/env bash
# Builds the book (docs/, mdBook) and checks it:
#   - mdbook builds it without a warning;
#   - every link between its pages resolves, anchors included, and every page is in SUMMARY.md;
#   - docs/reference/cli.md shows exactly what `bia --help` and each subcommand's `--help` print;
#   - the guides in framework/src/guide/ render in rustdoc with every link resolved, and
#     `cargo package -p bia` keeps every file the crate includes, and `-p bia-build` every
#     proto it bundles (bia-build/protos/, bia-build/third_party/);
#   - deploy/kubernetes/ passes the Kubernetes schemas and matches the service's ports and probes.
#
#   scripts/book.sh               build and check (the book lands in target/book)
#   scripts/book.sh --update-cli  rewrite the help blocks of docs/reference/cli.md from the binary
#   scripts/book.sh --walkthrough also run Getting started: scaffold, build, test, serve on
#                                 ports 9000/8000 with an OTLP collector and call it (a few
#                                 minutes), comparing the output and the spans with the page
#
# Installs mdbook into $BIA_TOOLS_DIR (default $HOME/.cache/bia-tools) when it is missing: about
# 1.5 minutes on two cores, once; and PyPI's kubernetes-validate. Needs python3. The doc tests
# of the guides run with the crate's tests: `cargo test --doc -p bia --features testing`.
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


# A reference-style link whose label nobody defined stays text: `[Deploying][deploy]`.
UNDEFINED_REFERENCE = re.compile(r"\[[^\]\n]+\]\[[\w-]+\]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    """The ids of a rendered page, and the links and the prose (code left out) inside its
    <main> (mdBook) or its doc blocks (rustdoc, `within="docblock"`)."""

    def __init__(self, within="main"):
        super().__init__()
        self.ids, self.links, self.text, self.within = set(), [], [], within
        self.open, self.depth, self.code = [], 0, 0

    def _opens(self, tag, attrs):
        if self.within == "main":
            return tag == "main"
        return "docblock" in (attrs.get("class") or "").split()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in VOID:
            return
        opens = self._opens(tag, attrs)
        self.open.append((tag, opens))
        if opens:
            self.depth += 1
        if tag in ("code", "pre"):
            self.code += 1
        if tag == "a" and self.depth and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in VOID or all(name != tag for name, _ in self.open):
            return
        while self.open:
            name, opened = self.open.pop()
            if opened:
                self.depth -= 1
            if name in ("code", "pre"):
                self.code -= 1
            if name == tag:
                break

    def handle_data(self, data):
        if self.depth and not self.code:
            self.text.append(data)

    def undefined_references(self):
        return UNDEFINED_REFERENCE.findall("".join(self.text))


def parse(path, within="main"):
    page = Page(within)
    page.feed(open(path, encoding="utf-8").read())
    return page


def broken_links(source, rendered, page, cache, inside=None):
    """What is wrong with the relative links of `page` (rendered from `source`): targets that
    do not exist, anchors that no heading has, and, with `inside`, links out of that folder."""
    problems = []
    for href in page.links:
        url = urlsplit(href)
        if url.scheme or href.startswith("//"):
            continue
        target = rendered if not url.path else os.path.normpath(
            os.path.join(os.path.dirname(rendered), unquote(url.path)))
        if inside and not os.path.abspath(target).startswith(os.path.abspath(inside) + os.sep):
            problems.append(f"{source}: {href} leaves the book (link to the repository's URL instead)")
        elif not os.path.exists(target):
            problems.append(f"{source}: {href} points to a page that does not exist")
        elif url.fragment and target.endswith(".html"):
            ids = cache.setdefault(target, parse(target).ids)
            if unquote(url.fragment) not in ids:
                problems.append(f"{source}: {href}: no heading #{url.fragment} on that page")
    return problems


def check_links():
    problems, cache = [], {}
    for chapter in chapters():
        source = os.path.join(DOCS, chapter)
        rendered = os.path.join(OUT, chapter[:-3] + ".html")
        if not os.path.isfile(rendered):
            fail(f"mdbook did not render {source} as {rendered}")
        page = parse(rendered)
        for text in page.undefined_references():
            problems.append(f"{source}: {text}: the page defines no such link label")
        problems += broken_links(source, rendered, page, cache, inside=OUT)
    if problems:
        fail("\n  ".join(["broken links:"] + problems))
    print(f"every link resolves ({len(chapters())} pages)")


def check_ports(ports=(9000, 8000)):
    import socket
    for port in map(int, ports):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError as e:
                fail(f"port {port} is taken ({e}); the walkthroughs serve on it: stop what holds it")


def wait_ready(log, port="8000"):
    import time, urllib.request
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200 and answer.read() == b"ready\n":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    fail(f"the service did not answer /readyz on :{port} within 30 s:\n" + open(log).read())


def check_call(path):
    page = open(os.path.join(DOCS, "getting-started.md")).read()
    after = page.split("```sh\ncargo run --example call\n```\n", 1)[1]
    shown = after.split("```text\n", 1)[1].split("```", 1)[0]
    printed = open(path).read()
    if printed != shown:
        fail(f"`cargo run --example call` printed\n{printed}\nbut docs/getting-started.md shows\n{shown}")


def check_rustdoc(doc):
    """The guides as rustdoc renders them (doc/bia/guide/): every link in their prose resolves,
    anchors included, and no reference label is left undefined."""
    root = os.path.join(doc, "bia", "guide")
    pages = sorted(os.path.join(dirpath, f) for dirpath, _, files in os.walk(root)
                   for f in files if f == "index.html")
    if len(pages) < 2:
        fail(f"rustdoc rendered no guide under {root}")
    problems, cache = [], {}
    for rendered in pages:
        page = parse(rendered, within="docblock")
        name = os.path.relpath(rendered, doc)
        for text in page.undefined_references():
            problems.append(f"{name}: {text}: no such label in book_links! (framework/src/guide/mod.rs)")
        problems += broken_links(name, rendered, page, cache)
    if problems:
        fail("\n  ".join(["broken links in the rustdoc guides:"] + problems))
    print(f"every link of the rustdoc guides resolves ({len(pages)} pages)")


INCLUDE = re.compile(r"include_(?:str|bytes)!\(\s*\"([^\"]+)\"\s*\)")


def check_package(unpacked):
    """The crate as `cargo package` made it: every file its sources include is inside it."""
    problems, guides = [], 0
    for dirpath, _, files in os.walk(unpacked):
        for f in files:
            if not f.endswith(".rs"):
                continue
            source = os.path.join(dirpath, f)
            # Comments (doc comments too) may show an include; only code includes.
            code = re.sub(r"^\s*//.*$", "", open(source, encoding="utf-8").read(), flags=re.M)
            for included in INCLUDE.findall(code):
                target = os.path.normpath(os.path.join(dirpath, included))
                inside = os.path.abspath(target).startswith(os.path.abspath(unpacked) + os.sep)
                if not inside or not os.path.isfile(target):
                    problems.append(f"{os.path.relpath(source, unpacked)} includes {included}, "
                                    "which is not in the package")
                elif included.endswith(".md"):
                    guides += 1
    if problems:
        fail("\n  ".join(["the packaged bia crate would not build:"] + problems
                          + ["keep what the crate includes under framework/ (the guides: framework/src/guide/)"]))
    if guides == 0:
        fail("the packaged bia crate includes no guide: framework/src/guide/mod.rs changed?")
    print(f"the packaged crate has every file it includes ({guides} guides)")


def check_kubernetes(manifest, service_config, reference_page, page):
    """The manifest's probes, ports and environment against the service and the config
    reference (its schema is kubernetes-validate's job)."""
    import tomllib, yaml
    docs = list(yaml.safe_load_all(open(manifest)))
    config = tomllib.load(open(service_config, "rb"))
    grpc_port = int(config["server"]["grpc"]["addr"].rsplit(":", 1)[1])
    admin_port = int(config["server"]["admin"]["addr"].rsplit(":", 1)[1])
    keys = set(re.findall(r"^\| `([a-z_.<>\"/*A-Z-]+)` \|", open(reference_page).read(), re.M))

    def own_keys(table, prefix=""):
        for key, value in table.items():
            if isinstance(value, dict):
                yield from own_keys(value, f"{prefix}{key}.")
            else:
                yield prefix + key

    # The framework's keys, and the service's own sections ([database] of user-service).
    keys.update(own_keys(config))
    problems = []
    deployment = next((d for d in docs if d and d.get("kind") == "Deployment"), None)
    service = next((d for d in docs if d and d.get("kind") == "Service"), None)
    if deployment is None or service is None:
        fail(f"{manifest}: expected a Deployment and a Service")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if ports.get("grpc") != grpc_port or ports.get("admin") != admin_port:
        problems.append(f"container ports {ports}, but {service_config} serves gRPC on {grpc_port} "
                        f"and admin on {admin_port}")

    def port_of(value):
        return ports.get(value, value)

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet")
        if not get or get.get("path") != path or port_of(get.get("port")) != admin_port:
            problems.append(f"{probe} must be an httpGet of {path} on the admin port {admin_port}: {get}")
    startup = container.get("startupProbe", {})
    if "grpc" in startup and port_of(startup["grpc"].get("port")) != grpc_port:
        problems.append(f"startupProbe's grpc port is not the gRPC port {grpc_port}")
    for port in service["spec"]["ports"]:
        if port_of(port.get("targetPort")) not in (grpc_port, admin_port):
            problems.append(f"the Service's targetPort {port.get('targetPort')} is not a container port")

    env, durations = {}, {}
    for var in container.get("env", []):
        name = var["name"]
        env[name] = var.get("value")
        if not name.startswith("BIA_"):
            continue
        key = name[len("BIA_"):].lower().replace("__", ".")
        if key not in keys:
            problems.append(f"{name}: neither {reference_page} nor {service_config} has a key `{key}`")
    for var in ("BIA_APP__PRE_STOP_DELAY", "BIA_APP__SHUTDOWN_TIMEOUT"):
        value = env.get(var) or "0s"
        match = re.fullmatch(r"(\d+)s", value)
        if not match:
            problems.append(f"{var}={value}: write it in whole seconds for this check")
        else:
            durations[var] = int(match.group(1))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    needed = sum(durations.values()) + 5
    if grace < needed:
        problems.append(f"terminationGracePeriodSeconds {grace} < pre_stop_delay + shutdown_timeout + 5 s = {needed}")
    include = "{{#include ../../" + manifest + "}}"
    if include not in open(page).read():
        problems.append(f"{page} does not show the manifest ({include})")
    if problems:
        fail("\n  ".join([f"{manifest} does not match the service:"] + problems))
    print(f"{manifest}: probes on :{admin_port} /readyz and /healthz, ports and keys match")


# Ids and port numbers differ from run to run; the rest of a span must be what the page shows.
VOLATILE = [(re.compile(r"\b(trace|span|parent)=[0-9a-f]+"), r"\1=<id>"),
            (re.compile(r"(network\.peer\.port = )\d+"), r"\1<port>")]


def check_spans(path):
    page = open(os.path.join(DOCS, "getting-started.md")).read()
    after = page.split("this block (ids and port numbers aside):\n", 1)[1]
    shown = after.split("```text\n", 1)[1].split("```", 1)[0]
    printed = open(path).read()

    def normal(text):
        for pattern, replacement in VOLATILE:
            text = pattern.sub(replacement, text)
        return text

    if normal(printed) != normal(shown):
        fail(f"`cargo run --example spans` printed\n{printed}\nbut docs/getting-started.md shows\n{shown}")
    print(f"the collector received the {printed.count(' service=')} spans the page shows")


# docs/observability.md: a `<!-- checked -->` line, a ```sh block, then the block of its output.
CHECKED = re.compile(r"<!-- checked -->\n```sh\n(.*?)```\n\n```(?:text|json)\n(.*?)```\n", re.S)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RUN_TO_RUN = [(re.compile(UUID), "<id>"),
              (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
              (re.compile(r"^date: .*$", re.M), "date: <date>")]


def check_observability(bia_dir):
    """Runs the checked commands of the walkthrough in order, with `bia` on PATH and $ID set
    from the first id a command printed, and compares their output with the page."""
    page = open(os.path.join(DOCS, "observability.md")).read()
    blocks = CHECKED.findall(page)
    if len(blocks) < 5:
        fail(f"docs/observability.md has {len(blocks)} checked blocks; expected the calls of sections 2 and 4")
    env = dict(os.environ, PATH=bia_dir + os.pathsep + os.environ["PATH"])

    def normal(text):
        for pattern, replacement in RUN_TO_RUN:
            text = pattern.sub(replacement, text)
        return text

    for command, shown in blocks:
        run = subprocess.run(["bash", "-c", command], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=60)
        if normal(run.stdout) != normal(shown):
            fail(f"docs/observability.md: `{command.strip()}` printed\n{run.stdout}\nbut the page shows\n{shown}")
        found = re.search(r'"id": ?"(' + UUID + ')"', run.stdout)
        if "ID" not in env and found:
            env["ID"] = found.group(1)
    print(f"docs/observability.md: {len(blocks)} checked commands print what the page shows")


mode = sys.argv[1]
if mode == "observability":
    check_observability(sys.argv[2])
elif mode == "links":
    check_links()
elif mode == "rustdoc":
    check_rustdoc(sys.argv[2])
elif mode == "package":
    check_package(sys.argv[2])
elif mode == "kubernetes":
    check_kubernetes(*sys.argv[2:6])
elif mode == "spans":
    check_spans(sys.argv[2])
elif mode == "ports":
    check_ports(sys.argv[2:] or (9000, 8000))
elif mode == "ready":
    wait_ready(*sys.argv[2:4])
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

# The guides that document the API live in framework/src/guide/ and are the bia crate's
# `bia::guide` modules: rustdoc must render them with every link resolved, and the crate must
# package with every file it includes.
check_rustdoc() {
    step "cargo doc -p bia --no-deps --all-features (rustdoc warnings are errors), and the guides' links"
    RUSTDOCFLAGS="-D warnings" cargo doc -p bia --no-deps --all-features
    python3 -c "$checker" rustdoc "$CARGO_TARGET_DIR/doc"
}

check_package() {
    step "cargo package -p bia: the guides are inside the crate"
    if ! cargo package -p bia --list --allow-dirty | grep -qx 'src/guide/middleware.md'; then
        echo "scripts/book.sh: cargo package -p bia --list has no src/guide/middleware.md" >&2
        exit 1
    fi
    # --no-verify: building the unpacked crate would compile it once more; what could break
    # that build here is an include of a file the package lacks, which the checker looks for.
    cargo package -p bia --no-verify --allow-dirty --quiet
    local crate unpacked
    crate="$(ls -t "$CARGO_TARGET_DIR"/package/bia-[0-9]*.crate | head -n 1)"
    unpacked="$(mktemp -d)"
    tar -xzf "$crate" -C "$unpacked"
    python3 -c "$checker" package "$unpacked"/bia-*/
    rm -rf "$unpacked"
    # bia-build compiles in the protos it bundles (bundled!(folder, name) in src/bundled.rs): each
    # must be in its package, third_party/ included.
    step "cargo package -p bia-build: the bundled protos are inside the crate"
    local listed file missing=0
    listed="$(cargo package -p bia-build --list --allow-dirty)"
    for file in $(sed -n 's/^ *bundled!("\([^"]*\)", "\([^"]*\)"),$/\1\/\2/p' bia-build/src/bundled.rs); do
        if ! grep -qx "$file" <<<"$listed"; then
            echo "scripts/book.sh: cargo package -p bia-build --list has no $file" >&2
            missing=1
        fi
    done
    grep -qx 'third_party/LICENSE' <<<"$listed" || { echo "scripts/book.sh: bia-build's package has no third_party/LICENSE" >&2; missing=1; }
    [ "$missing" -eq 0 ] || exit 1
}

# deploy/kubernetes/: the schemas of Kubernetes (kubernetes-validate, from PyPI, with no
# cluster), then the probes, ports and keys against user-service.
check_kubernetes() {
    step "deploy/kubernetes/ against the Kubernetes schemas and the service"
    if ! python3 -c 'import kubernetes_validate' >/dev/null 2>&1; then
        step "python3 -m pip install kubernetes-validate (once)"
        local user=""
        [ "$(id -u)" -ne 0 ] && user="--user"
        # A Debian-managed python3 refuses plain installs (PEP 668): ask again with its override.
        python3 -m pip install --quiet --disable-pip-version-check $user kubernetes-validate ||
            python3 -m pip install --quiet --disable-pip-version-check $user --break-system-packages kubernetes-validate
    fi
    python3 -m kubernetes_validate --strict deploy/kubernetes/user-service.yaml
    python3 -c "$checker" kubernetes deploy/kubernetes/user-service.yaml \
        examples/user-service/config/config.toml docs/configuration.md docs/guide/deploy.md
}

check_rustdoc
check_package
check_kubernetes

# docs/observability.md without Docker: both examples on their own ports, fresh (their database
# in a temporary folder), called as the page calls them.
walkthrough_observability() {
    step "the observability walkthrough, on user-service and recommendation-service"
    python3 -c "$checker" ports 9001 8001 9002 8002
    cargo build -p user-service -p recommendation-service
    local run
    run="$(mktemp -d)"
    mkdir "$run/data"
    (cd "$run" && exec "$CARGO_TARGET_DIR/debug/user-service") >"$run/user.log" 2>&1 &
    users=$!
    python3 -c "$checker" ready "$run/user.log" 8001
    (cd "$run" && exec "$CARGO_TARGET_DIR/debug/recommendation-service") >"$run/recommendation.log" 2>&1 &
    recommendations=$!
    python3 -c "$checker" ready "$run/recommendation.log" 8002
    python3 -c "$checker" observability "$(dirname "$bia")"
    local pid
    for pid in "$recommendations" "$users"; do
        kill -TERM "$pid"
        if ! wait "$pid"; then
            cat "$run"/*.log >&2
            echo "scripts/book.sh: an example service did not exit 0 on SIGTERM" >&2
            exit 1
        fi
    done
    users="" recommendations=""
    rm -rf "$run"
}

if [ "$walkthrough" -eq 1 ]; then
    # docs/getting-started.md, step by step: its files come from docs/getting-started/, and what
    # `cargo run --example call` prints must be what the page shows.
    step "Getting started, in a temporary folder"
    dir="$(mktemp -d)"
    # `|| true`: under set -e, a kill of a process that has already exited would end the trap
    # before it stopped the others.
    trap 'rm -f "$log"; for pid in "${server:-}" "${collector:-}" "${users:-}" "${recommendations:-}"; do
        [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
    python3 -c "$checker" ports
    (cd "$dir" && "$bia" proto add api/catalog/v1/item.proto && "$bia" new catalog --proto api/catalog/v1/item.proto)
    cp docs/getting-started/item_service.rs "$dir/catalog/src/service/item_service.rs"
    cp docs/getting-started/grpc.rs "$dir/catalog/tests/grpc.rs"
    mkdir -p "$dir/catalog/examples"
    cp docs/getting-started/call.rs "$dir/catalog/examples/call.rs"
    cp docs/getting-started/spans.rs "$dir/catalog/examples/spans.rs"
    (cd "$dir/catalog" && cargo test && cargo build --example call --example spans)
    # The collector of step 6 reads Enter from a FIFO held open here (fd 3) until the service
    # has stopped and flushed its spans.
    mkfifo "$dir/enter"
    "$CARGO_TARGET_DIR/debug/examples/spans" <"$dir/enter" >"$dir/spans.txt" 2>"$dir/spans.log" &
    collector=$!
    exec 3>"$dir/enter"
    for _ in $(seq 100); do [ -s "$dir/spans.txt" ] && break; sleep 0.3; done
    endpoint="$(head -n 1 "$dir/spans.txt")"
    case "$endpoint" in
        OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:*) ;;
        *) cat "$dir/spans.log" >&2; echo "scripts/book.sh: the spans example printed no endpoint" >&2; exit 1 ;;
    esac
    (cd "$dir/catalog" && exec env "$endpoint" "$CARGO_TARGET_DIR/debug/catalog") >"$dir/server.log" 2>&1 &
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
    echo >&3
    exec 3>&-
    wait "$collector"
    tail -n +2 "$dir/spans.txt" >"$dir/spans-only.txt"
    python3 -c "$checker" spans "$dir/spans-only.txt"
    echo "Getting started works as written"

    walkthrough_observability
fi

step "the book is in target/book/index.html"
