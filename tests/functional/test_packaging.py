"""Appliance packaging (scripts/dist/, scripts/install.sh): what `meson install` puts on
a machine, and tundra's life as a service.

* meson install: `meson install --destdir` of the build that made $TUNDRA_BIN installs
  the three binaries, tundra.service, /etc/tundra's tundra.conf and tundra.env, the
  hugepage helper and both man pages, and the unit names the paths they went to; a
  second install keeps an operator's edited config (skipped, visibly, without meson).
* systemd-analyze verify accepts the installed unit (skipped without systemd-analyze).
* The installed example config runs on null ports, and so do its commented-out
  examples; the man page's flags are `tundra -- --help`'s, its commands the grammar's.
* The unit's own command line (ExecStart with tundra.env's values, on null ports, a
  temporary config and socket) started by hand: SIGTERM ends it with exit 0, its socket
  gone, no hugepage or EAL runtime files left (the hugepage variant skips, visibly,
  where hugepages cannot be had).
* Signals at random moments: after exec, during `start`, under traffic from an
  infinite pcap port, with clients connected and a command in progress: exit 0 within
  a bound, no signal death, no sanitizer report, nothing left behind. The loop runs
  for about SIGNAL_BUDGET_S by default; TUNDRA_SIGNAL_LOOPS=N runs N iterations instead,
  TUNDRA_SIGNAL_SEED=S replays one.
"""
import json
import os
import random
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import harness
from harness import IP, UDP, Ether, Raw, write_pcap

sys.path.insert(0, str(harness.REPO / "scripts" / "lib"))
from tundra_client import TundraClient, TundraUnreachable  # noqa: E402

# The install, the unit and the man pages are checked once, on the optimised build
# (mechanics, not the dataplane); the signal tests (d) run under the sanitizers too.
not_sanitized = pytest.mark.not_sanitized

DIST = harness.REPO / "scripts" / "dist"
EXIT_BOUND_S = 20          # from the signal to the exit (sanitizer builds are slow)
READY_TIMEOUT_S = 60       # from exec to "started"
SIGNAL_BUDGET_S = 20       # the random-signal loop's default length (TUNDRA_SIGNAL_LOOPS for more)
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "Segmentation fault", "Assertion ",
                   "terminate called")
# The tables of the signal runs: small, so a start takes about a second.
SMALL_TABLES = ["--max_tunnels=1024", "--max_segments=64", "--max_fdb_entries=4096",
                "--max_routes=1024"]
COMMAND_WORDS = ("port", "neigh", "tunnel", "geneve", "xconnect", "route", "segment",
                 "fdb")

_counter = iter(range(1 << 30))


# ------------------------------------------------------------------ helpers

def ctl_bin():
    p = harness.tundra_bin().with_name("tundra-ctl")
    if not os.access(p, os.X_OK):
        pytest.fail("tundra-ctl not found beside %s" % harness.tundra_bin(), pytrace=False)
    return p


def unique_prefix(tag):
    return "tundra_pkg%s_%d_%d" % (tag, os.getpid(), next(_counter))


def hugetlbfs_mounts():
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[2:3] == ["hugetlbfs"]]


def hugepage_count(which):
    """free_hugepages or nr_hugepages (reserved) of the 2 MiB size; 0 when unknown."""
    try:
        return int(Path("/sys/kernel/mm/hugepages/hugepages-2048kB", which).read_text())
    except (OSError, ValueError):
        return 0


def hugepages_usable(pages):
    """Whether a run may take `pages` 2 MiB pages of the (shared) pool, and why not."""
    if os.geteuid() != 0:
        return False, "not root"
    if not hugetlbfs_mounts():
        return False, "no hugetlbfs mounted (scripts/hugepages.sh mounts one)"
    free = hugepage_count("free_hugepages")
    if free < pages:
        return False, "only %d free 2 MiB hugepages, %d needed (shared pool)" % (free, pages)
    return True, ""


def eal_runtime_dirs(prefix):
    return [Path("/var/run/dpdk") / prefix,
            Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / "dpdk" / prefix]


def leftovers(prefix):
    """Files a finished tundra with --file-prefix=prefix left behind: hugepage files on
    any hugetlbfs mount, files in its EAL runtime dir (an empty dir is EAL's own)."""
    found = []
    for mnt in hugetlbfs_mounts():
        try:
            found += [os.path.join(mnt, n) for n in os.listdir(mnt) if n.startswith(prefix)]
        except OSError:
            pass
    for d in eal_runtime_dirs(prefix):
        if d.is_dir():
            found += [str(p) for p in d.iterdir()]
    return found


def cleanup(prefix):
    harness._cleanup_prefix(prefix)
    for mnt in hugetlbfs_mounts():
        for n in os.listdir(mnt) if os.path.isdir(mnt) else ():
            if n.startswith(prefix):
                try:
                    os.unlink(os.path.join(mnt, n))
                except OSError:
                    pass
    for d in eal_runtime_dirs(prefix):
        shutil.rmtree(d, ignore_errors=True)


def sanitizer_lines(text):
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKS)]


def run_tundra_help():
    """`tundra -- --help`: gflags prints every flag and exits."""
    prefix = unique_prefix("help")
    try:
        p = subprocess.run([str(harness.tundra_bin()), "--no-pci", "--no-huge", "--no-shconf",
                            "-m", "64", "--file-prefix=" + prefix, "--", "--help"],
                           capture_output=True, text=True, timeout=60)
    finally:
        cleanup(prefix)
    return p.stdout + p.stderr


def tundra_flags_from_help(text):
    """The flags defined in control/ (gflags' own and other libraries' excluded)."""
    flags, ours = set(), False
    for line in text.splitlines():
        m = re.match(r"\s*Flags from (\S+):", line)
        if m:
            ours = "control/" in m.group(1)
            continue
        m = re.match(r"\s+-([a-z0-9_]+) \(", line)
        if ours and m:
            flags.add(m.group(1))
    return flags


def man_text(path):
    """A man page's source with roff escapes turned into plain text."""
    text = Path(path).read_text()
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\e", "\\")


# ------------------------------------------------------------- the install

class Installed:
    """A `meson install --destdir` of the build directory that holds $TUNDRA_BIN."""

    def __init__(self, build, destdir):
        self.build = build
        self.destdir = Path(destdir)
        opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
            ["meson", "introspect", "--buildoptions", str(build)], capture_output=True,
            text=True, check=True, timeout=60).stdout)}
        self.prefix = opts["prefix"]
        self.paths = {k: os.path.join(self.prefix, opts[k])
                      for k in ("bindir", "sysconfdir", "libexecdir", "mandir")}
        self.paths["unitdir"] = opts.get("systemdunitdir") or \
            os.path.join(self.prefix, "lib/systemd/system")

    def install(self):
        return subprocess.run(["meson", "install", "-C", str(self.build), "--destdir",
                               str(self.destdir), "--no-rebuild"],
                              capture_output=True, text=True, timeout=300)

    def staged(self, path):
        """Where an installed absolute path lies under the destdir."""
        return self.destdir / str(path).lstrip("/")

    def file(self, kind, *parts):
        return self.staged(os.path.join(self.paths[kind], *parts))


def meson_build_dir():
    if shutil.which("meson") is None:
        pytest.skip("meson is not installed (apt-get install meson): install not checked")
    build = harness.tundra_bin().resolve().parent.parent
    if not (build / "meson-private").is_dir():
        pytest.skip("%s is not in a meson build directory: install not checked"
                    % harness.tundra_bin())
    return build


@pytest.fixture
def sockdir():
    """A short directory for control sockets (a UNIX socket path has at most 107 bytes:
    not under pytest's tmp)."""
    d = Path(tempfile.mkdtemp(prefix="tpkg", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    inst = Installed(meson_build_dir(), tmp_path_factory.mktemp("destdir"))
    r = inst.install()
    assert r.returncode == 0, "meson install failed:\n%s%s" % (r.stdout, r.stderr)
    return inst


def parse_unit(path):
    """{section: [(key, value), ...]} of a systemd unit file."""
    sections, current = {}, None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def unit_value(unit, section, key):
    values = [v for k, v in unit.get(section, []) if k == key]
    assert len(values) == 1, "%s= in [%s]: %r" % (key, section, values)
    return values[0]


def parse_env_file(path):
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (one level of quotes)."""
    env = {}
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), "bad line: %r" % raw
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key] = value
    return env


def expand_command(command, env):
    """A unit's Exec*= line as systemd runs it: "$VAR" alone is split at whitespace into
    zero or more words, "${VAR}" is one word; a leading -, @, +, ! prefix is dropped."""
    command = command.lstrip("-@+!:")
    argv = []
    for word in shlex.split(command):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv += env.get(m.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                               lambda v: env.get(v.group(1), ""), word))
    return argv


def unit_variables(command):
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", command))


# ----------------------------------------------------------- (a) install

@not_sanitized
def test_meson_install_puts_every_file(installed):
    for exe in ("tundra", "tundra-ctl", "tundra-gen"):
        p = installed.file("bindir", exe)
        assert p.is_file() and os.access(p, os.X_OK), "%s not installed" % p
    helper = installed.file("libexecdir", "tundra", "tundra-hugepages")
    assert helper.is_file() and os.access(helper, os.X_OK), helper
    for name in ("tundra.conf", "tundra.env"):
        p = installed.file("sysconfdir", "tundra", name)
        assert p.is_file(), "%s not installed" % p
        assert p.read_text() == (DIST / name).read_text()
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, oct(p.stat().st_mode)
    for page in ("tundra.8", "tundra-ctl.8"):
        assert installed.file("mandir", "man8", page).is_file(), page
    assert installed.file("unitdir", "tundra.service").is_file()
    # The installed tundra-ctl runs (no build paths left in it).
    r = subprocess.run([str(installed.file("bindir", "tundra-ctl")), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "usage: tundra-ctl" in r.stdout, r.stdout + r.stderr


@not_sanitized
def test_unit_names_the_installed_paths(installed):
    unit = parse_unit(installed.file("unitdir", "tundra.service"))
    env_file = unit_value(unit, "Service", "EnvironmentFile")
    assert not env_file.startswith("-"), "the environment file must be required"
    assert env_file == os.path.join(installed.paths["sysconfdir"], "tundra", "tundra.env")
    assert installed.staged(env_file).is_file()
    start = shlex.split(unit_value(unit, "Service", "ExecStart"))
    assert start[0] == os.path.join(installed.paths["bindir"], "tundra")
    assert installed.staged(start[0]).is_file()
    assert "--" in start
    flags = start[start.index("--") + 1:]
    config = [f for f in flags if f.startswith("--config=")]
    assert config == ["--config=" + os.path.join(installed.paths["sysconfdir"], "tundra",
                                                 "tundra.conf")]
    assert installed.staged(config[0].split("=", 1)[1]).is_file()
    assert "--socket=/run/tundra/tundra.sock" in flags
    pre = shlex.split(unit_value(unit, "Service", "ExecStartPre"))
    assert pre[0] == os.path.join(installed.paths["libexecdir"], "tundra", "tundra-hugepages")
    assert installed.staged(pre[0]).is_file()
    # The service's contract: runtime dir, restart, a clean stop on SIGTERM.
    service = dict(unit["Service"])
    assert service["RuntimeDirectory"] == "tundra"
    assert service["RuntimeDirectoryMode"] == "0700"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert "0" in service.get("SuccessExitStatus", "0").split()
    # Every variable the unit uses is set in tundra.env, and every one set there used.
    env = parse_env_file(installed.staged(env_file))
    used = unit_variables(unit_value(unit, "Service", "ExecStart")) | \
        unit_variables(unit_value(unit, "Service", "ExecStartPre"))
    assert used == set(env), "unit uses %s, tundra.env sets %s" % (sorted(used), sorted(env))


@not_sanitized
def test_second_install_keeps_an_edited_config(tmp_path):
    inst = Installed(meson_build_dir(), tmp_path / "destdir")
    r = inst.install()
    assert r.returncode == 0, r.stdout + r.stderr
    conf = inst.file("sysconfdir", "tundra", "tundra.conf")
    env = inst.file("sysconfdir", "tundra", "tundra.env")
    edited = conf.read_text() + "tunnel add mine type vxlan local 192.0.2.1 remote " \
        "192.0.2.9 vni 9\n"
    conf.write_text(edited)
    r = inst.install()
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf.read_text() == edited, "meson install overwrote an edited tundra.conf"
    dist = conf.with_name("tundra.conf.dist")
    assert dist.is_file() and dist.read_text() == (DIST / "tundra.conf").read_text()
    assert env.read_text() == (DIST / "tundra.env").read_text()
    assert not env.with_name("tundra.env.dist").exists(), "an unchanged file got a .dist"


# -------------------------------------------------- (b) systemd-analyze

@not_sanitized
def test_systemd_analyze_verify(installed, tmp_path):
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze not found (Debian package 'systemd'): unit not verified")
    # verify checks that the commands exist on this machine: the copy it reads names the
    # staged files (the install prefix rewritten to destdir/prefix), nothing else changed.
    unit_text = installed.file("unitdir", "tundra.service").read_text()
    prefix = installed.prefix.rstrip("/") + "/"
    for kind in ("sysconfdir", "bindir", "libexecdir"):
        path = installed.paths[kind].rstrip("/") + "/"
        if not path.startswith(prefix):   # /etc with a /usr/local prefix
            unit_text = unit_text.replace(path, str(installed.staged(path)) + "/")
    unit_text = unit_text.replace(prefix, str(installed.staged(prefix)) + "/")
    copy = tmp_path / "tundra.service"
    copy.write_text(unit_text)
    env = dict(os.environ, MANPATH=str(installed.staged(installed.paths["mandir"])),
               SYSTEMD_LOG_COLOR="0")
    # Documentation=man:... is checked by running man(1), where there is one.
    man = [] if shutil.which("man") else ["--man=no"]
    r = subprocess.run([exe, "verify", *man, str(copy)], capture_output=True, text=True,
                       timeout=120, env=env)
    out = r.stdout + r.stderr
    # verify exits 0 on mere warnings (an unknown key, a bad value): those fail here too.
    ours = [ln for ln in out.splitlines() if "tundra" in ln]
    assert r.returncode == 0 and not ours, "systemd-analyze verify:\n" + out


# ---------------------------------------------- the example config, man page

def commented_examples(text):
    return [m.group(1) for m in re.finditer(
        r"^#(?: )?((?:%s) .*)$" % "|".join(COMMAND_WORDS), text, re.M)]


def null_ports_command(prefix, *flags):
    """tundra on two null ports that receive nothing, without hugepages."""
    return [str(harness.tundra_bin()), *harness.lcore_args(1), "--no-pci", "--no-huge",
            "--no-shconf", "-m", "512", "--file-prefix=" + prefix,
            "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--", *flags]


class Started:
    """A tundra process with its output in a file; finish() kills it if it still runs
    (our own child, by its PID) and returns the output."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "w+")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def finish(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.seek(0)
        out = self.log.read()
        self.log.close()
        return out


def run_config(config_text, tmp_path, tag):
    cfg = tmp_path / ("%s.cfg" % tag)
    cfg.write_text(config_text)
    prefix = unique_prefix(tag)
    cmd = null_ports_command(prefix, "--config=" + str(cfg), "--socket=none", *SMALL_TABLES)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    finally:
        cleanup(prefix)


@not_sanitized
def test_example_config_runs_as_installed(tmp_path, sockdir):
    """tundra.conf as the service runs it (ending in `start`), then `quit` from a
    client, the way an operator stops it by hand."""
    conf = DIST / "tundra.conf"
    text = conf.read_text()
    assert re.search(r"^start$", text, re.M) and not re.search(r"^quit", text, re.M)
    prefix = unique_prefix("conf")
    sock = sockdir / "t.sock"
    tundra = Started(null_ports_command(prefix, "--config=" + str(conf),
                                        "--socket=" + str(sock)), tmp_path / "tundra.log")
    try:
        client = TundraClient(sock, timeout=30, connect_timeout=READY_TIMEOUT_S)
        with client:
            tunnels = client.show_json("tunnel")
            assert [t["name"] for t in tunnels["tunnels"]] == ["t1"], tunnels
            r = subprocess.run([str(ctl_bin()), "--socket=" + str(sock), "quit"],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
        assert tundra.proc.wait(timeout=EXIT_BOUND_S) == 0
    finally:
        out = tundra.finish()
        cleanup(prefix)
    assert "started" in out, out[-3000:]
    assert not sanitizer_lines(out), out[-3000:]


@not_sanitized
def test_example_config_commented_examples_run(tmp_path):
    """Every commented-out command in tundra.conf, uncommented together, is accepted."""
    text = (DIST / "tundra.conf").read_text()
    examples = commented_examples(text)
    assert len(examples) >= 5, examples
    uncommented = re.sub(r"^#(?: )?((?:%s) )" % "|".join(COMMAND_WORDS), r"\1", text,
                         flags=re.M)
    r = run_config(uncommented + "show tunnel\nshow segment\nquit\n", tmp_path, "examples")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "started" in r.stdout
    for name in ("t1", "t2", "s1"):
        assert re.search(r"\b%s\b" % name, r.stdout), (name, r.stdout[-3000:])


@not_sanitized
def test_man_page_flags_are_tundras():
    help_flags = tundra_flags_from_help(run_tundra_help())
    assert {"config", "interactive", "socket", "stats_period"} <= help_flags, help_flags
    text = man_text(DIST / "tundra.8.in")
    own = text.split("are tundra's own", 1)[1].split(".SH COMMANDS", 1)[0]
    man_flags = set(re.findall(r"--([a-z0-9_]+)", own)) - {"help"}
    assert man_flags == help_flags, (
        "tundra.8 lacks %s; documents flags tundra does not have: %s"
        % (sorted(help_flags - man_flags), sorted(man_flags - help_flags)))
    # README's flag table is a subset of both.
    readme = (harness.REPO / "README.md").read_text()
    table = readme.split("## Process and flags", 1)[1].split("\n## ", 1)[0]
    readme_flags = set(re.findall(r"`--([a-z0-9_]+)", table))
    assert readme_flags and readme_flags <= help_flags, sorted(readme_flags - help_flags)


def grammar_help(tmp_path):
    r = run_config("help\nquit\n", tmp_path, "grammar")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if re.match(r"[a-z]", ln)]
    assert len(lines) > 30, r.stdout
    return lines


def literal_phrases(syntax):
    """The fixed words of a grammar line, as runs of adjacent words: 'segment <name:name>
    no member port <port:port> [vlan <vlan:...>]' -> ['segment', 'no member port']."""
    phrases, run, depth = [], [], 0
    for tok in syntax.split():
        opens = tok.count("[") - tok.count("]")
        literal = depth == 0 and not tok.startswith(("<", "[")) and tok != "..."
        if literal:
            run.append(tok)
        elif run:
            phrases.append(" ".join(run))
            run = []
        depth += opens
    if run:
        phrases.append(" ".join(run))
    return phrases


@not_sanitized
def test_man_page_commands_are_the_grammar(tmp_path):
    text = man_text(DIST / "tundra.8.in")
    commands = text.split(".SH COMMANDS", 1)[1].split(".SH SIGNALS", 1)[0]
    lines = [" ".join(re.sub(r"[\[\]|]", " ", ln).split()) for ln in commands.splitlines()]
    grammar = grammar_help(tmp_path)
    missing = []
    for syntax in grammar:
        pattern = r".*?".join(r"(?<![\w-])%s(?![\w-])" % re.escape(p)
                              for p in literal_phrases(syntax))
        if not any(re.search(pattern, ln) for ln in lines):
            missing.append(syntax)
    assert not missing, "tundra.8 lacks these commands:\n  " + "\n  ".join(missing)
    # And the other way: each syntax line of the man page starts like a real command.
    firsts = {" ".join(literal_phrases(s)[0].split()[:2]) for s in grammar} | \
        {literal_phrases(s)[0].split()[0] for s in grammar}
    blocks = re.findall(r"^\.nf\n(.*?)^\.fi", commands, re.M | re.S)
    for block in blocks:
        for ln in block.splitlines():
            words = ln.split()
            if not words or ln.startswith(" "):
                continue
            assert " ".join(words[:2]) in firsts or words[0] in firsts, ln


@not_sanitized
def test_tundra_ctl_man_page_options():
    usage = subprocess.run([str(ctl_bin()), "--help"], capture_output=True, text=True,
                           timeout=30).stdout.split("\n\n", 1)[0]   # the usage lines
    opts = set(re.findall(r"[\[\s](--[a-z]+|-f)\b", usage))
    assert {"--socket", "--json", "--timeout", "-f"} <= opts, usage
    text = man_text(DIST / "tundra-ctl.8.in")
    assert opts and all(o in text for o in opts), (sorted(opts), "tundra-ctl.8")
    for status in ("0 when", "1 when", "2 when"):
        assert status in text


# ------------------------------------- (c) the unit's command line by hand

def service_command(installed, tmp_path, sock, memory):
    """The unit's ExecStart with tundra.env's values: null ports, a temporary config
    (the installed example) and socket, at most 64 MB preallocated from the shared
    hugepage pool, and a --file-prefix of its own. Returns (argv, prefix, env)."""
    unit = parse_unit(installed.file("unitdir", "tundra.service"))
    env_file = installed.staged(unit_value(unit, "Service", "EnvironmentFile"))
    env = parse_env_file(env_file)
    prefix = unique_prefix("svc")
    env["TUNDRA_PORTS"] = "--no-pci --vdev=net_null0,no-rx=1 --vdev=net_null1,no-rx=1"
    if len(os.sched_getaffinity(0)) < 2:
        env["TUNDRA_LCORES"] = " ".join(harness.lcore_args(1))
    if memory == "hugepages":
        mem = re.sub(r"(^|\s)-m\s+\d+", r"\1-m 64", env["TUNDRA_MEM"])
        if "-m 64" not in mem:
            mem += " -m 64"
    else:
        # --in-memory needs hugepages; --no-shconf is its no-huge counterpart.
        mem = re.sub(r"(^|\s)(--in-memory|-m\s+\d+)", " ", env["TUNDRA_MEM"])
        mem += " --no-huge --no-shconf -m 512"
    env["TUNDRA_MEM"] = mem + " --file-prefix=" + prefix
    conf = tmp_path / "tundra.conf"
    shutil.copy(installed.file("sysconfdir", "tundra", "tundra.conf"), conf)
    argv = expand_command(unit_value(unit, "Service", "ExecStart"), env)
    argv[0] = str(installed.staged(argv[0]))
    argv = [("--config=%s" % conf if a.startswith("--config=") else
             "--socket=%s" % sock if a.startswith("--socket=") else a) for a in argv]
    return argv, prefix, env, unit


@not_sanitized
@pytest.mark.parametrize("memory", ["hugepages", "no-huge"])
def test_service_command_line_stops_cleanly_on_sigterm(installed, tmp_path, sockdir, memory):
    if memory == "hugepages":
        ok, why = hugepages_usable(128)
        if not ok:
            pytest.skip("hugepage part not run: " + why)
    sock = sockdir / "run" / "tundra.sock"   # tundra makes run/, and must remove it
    argv, prefix, env, unit = service_command(installed, tmp_path, sock, memory)
    assert "--in-memory" in env["TUNDRA_MEM"] or memory == "no-huge"
    if memory == "hugepages":
        # ExecStartPre, asking for no more pages than are reserved: changes nothing here,
        # but must succeed (and checks the mount).
        pages = min(int(env["TUNDRA_HUGEPAGES"]), hugepage_count("nr_hugepages"))
        pre = expand_command(unit_value(unit, "Service", "ExecStartPre"),
                             dict(env, TUNDRA_HUGEPAGES=str(pages)))
        pre[0] = str(installed.staged(pre[0]))
        r = subprocess.run(pre, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (pre, r.stderr)
    tundra = Started(argv, tmp_path / "tundra.log")
    try:
        with TundraClient(sock, timeout=30, connect_timeout=READY_TIMEOUT_S) as c:
            ports = c.show_json("port info all")["ports"]
            assert [p["driver"] for p in ports] == ["net_null", "net_null"], ports
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(sock.parent).st_mode) == 0o700
        tundra.proc.send_signal(signal.SIGTERM)
        rc = tundra.proc.wait(timeout=EXIT_BOUND_S)
    finally:
        out = tundra.finish()
        left = leftovers(prefix)
        cleanup(prefix)
        sock_left = sock.exists() or sock.parent.exists()
    cmdline = " ".join(shlex.quote(a) for a in argv)
    assert rc == 0, "exit %s after SIGTERM\n%s\n%s" % (rc, cmdline, out[-3000:])
    assert "started" in out
    assert not sanitizer_lines(out), out[-3000:]
    assert not sock_left, "the control socket or its directory is left: %s" % sock
    assert not left, "left behind: %s\n%s" % (left, cmdline)


# --------------------------------------------------- (d) signals at random

INFINITE_PCAP = None


def infinite_pcap(tmp_dir):
    global INFINITE_PCAP
    if INFINITE_PCAP is None or not INFINITE_PCAP.exists():
        frames = [Ether(src="02:00:00:00:10:%02x" % (i % 8), dst="02:00:00:00:20:01") /
                  IP(src="10.1.0.%d" % (i + 1), dst="10.2.0.1") /
                  UDP(sport=1000 + i, dport=2000) / Raw(b"x" * 80) for i in range(32)]
        INFINITE_PCAP = write_pcap(Path(tmp_dir) / "infinite.pcap", frames)
    return INFINITE_PCAP


class Run:
    """One tundra for one signal: output read as it comes, with events for the moments
    worth signalling at."""

    CONFIG = ("port config 0 role uplink\n"
              "port config 0 address 192.0.2.1/24\n"
              "port config 1 role access\n"
              "neigh add 192.0.2.2 02:00:00:00:00:02 port 0\n"
              "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100\n"
              "xconnect add 1 tunnel t1\n"
              "start\n")

    def __init__(self, workdir, traffic=True):
        self.prefix = unique_prefix("sig")
        self.sockdir = Path(tempfile.mkdtemp(prefix="tsig", dir="/tmp"))
        self.sock = self.sockdir / "run" / "t.sock"
        cfg = Path(workdir) / (self.prefix + ".cfg")
        cfg.write_text(self.CONFIG)
        ok, _ = hugepages_usable(96)
        self.memory = "hugepages" if ok else "no-huge"
        mem = ["--in-memory", "-m", "64"] if ok else ["--no-huge", "--no-shconf", "-m", "512"]
        access = ("--vdev=net_pcap1,rx_pcap=%s,infinite_rx=1" % infinite_pcap(workdir)
                  if traffic else "--vdev=net_null1,no-rx=1")
        self.cmd = [str(harness.tundra_bin()), *harness.lcore_args(1), "--no-pci", *mem,
                    "--file-prefix=" + self.prefix, "--vdev=net_null0,no-rx=1", access, "--",
                    "--config=" + str(cfg), "--socket=" + str(self.sock), *SMALL_TABLES]
        self.lines = []
        self.pre_main = False
        self.exit_s = -1.0
        self.first_output = threading.Event()
        self.port_starting = threading.Event()
        self.started = threading.Event()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            self.first_output.set()
            if line.startswith("tundra: port "):
                self.port_starting.set()
            if line == "started":
                self.started.set()

    def wait(self, event, timeout=READY_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not event.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def output(self):
        return "\n".join(self.lines)

    def finish(self, sig, bound_s=EXIT_BOUND_S):
        """Signals, waits (bounded) and returns the problems found: [] when clean."""
        sent = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        problems = []
        try:
            rc = self.proc.wait(timeout=bound_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()   # our own child, by its PID
            rc = self.proc.wait(timeout=10)
            problems.append("still running %d s after %s (killed)"
                            % (bound_s, signal.Signals(sig).name))
        self.exit_s = time.monotonic() - sent
        self.reader.join(timeout=10)
        out = self.output()
        if rc != 0 and not problems:
            if rc == -sig and not self.lines:
                # Before main() ran (the dynamic loader, DPDK's constructors) nothing can
                # catch a signal; that death printed nothing.
                self.pre_main = True
            else:
                problems.append("exit status %s" % (
                    "signal %s" % signal.Signals(-rc).name if rc < 0 else rc))
        problems += ["sanitizer/crash: " + ln for ln in sanitizer_lines(out)]
        if self.sock.exists() or self.sock.parent.exists():
            problems.append("control socket or its directory left: %s" % self.sock)
        left = leftovers(self.prefix)
        if left:
            problems.append("left behind: %s" % left[:5])
        cleanup(self.prefix)
        shutil.rmtree(self.sockdir, ignore_errors=True)
        return problems

    def abandon(self):
        """After an error in the test itself: kill (our own child, by its PID), clean."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        cleanup(self.prefix)
        shutil.rmtree(self.sockdir, ignore_errors=True)


def _client_sleep(run, rng):
    """A client in the middle of a command (`sleep`), signalled during it."""
    c = TundraClient(run.sock, timeout=EXIT_BOUND_S)
    replies = []
    t = threading.Thread(target=lambda: replies.append(_request(c, "sleep 400")), daemon=True)
    t.start()
    time.sleep(rng.uniform(0.0, 0.35))
    return [t], [c]


def _client_burst(run, rng):
    """Clients firing commands back to back; the signal lands in the middle of one."""
    clients, threads = [], []
    for _ in range(2):
        c = TundraClient(run.sock, timeout=EXIT_BOUND_S)
        clients.append(c)

        def burst(c=c):
            while _request(c, "show port stats all json") is not None:
                pass
        threads.append(threading.Thread(target=burst, daemon=True))
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.0, 0.3))
    return threads, clients


def _client_partial(run, rng):
    """A client connected with half a command sent, and one idle."""
    idle = TundraClient(run.sock, timeout=EXIT_BOUND_S)
    half = TundraClient(run.sock, timeout=EXIT_BOUND_S)
    half._sock.sendall(b"show port st")
    time.sleep(rng.uniform(0.0, 0.2))
    return [], [idle, half]


def _client_ctl(run, rng):
    """tundra-ctl waiting for its reply (a `sleep`) when the signal comes."""
    ctl = subprocess.Popen([str(ctl_bin()), "--socket=" + str(run.sock),
                            "--timeout=%d" % EXIT_BOUND_S, "sleep", "300"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(rng.uniform(0.05, 0.3))
    return [ctl], []


def _request(c, line):
    try:
        return c.request(line)
    except (TundraUnreachable, OSError):
        return None


def signal_scenario(name, sig, rng, workdir, nth):
    """Runs one tundra, signals it at a moment the scenario picks (nth: how many runs of
    this scenario came before); returns (description, problems)."""
    traffic = name != "client-idle-null"
    run = Run(workdir, traffic=traffic)
    threads, clients, note = [], [], ""
    try:
        if name == "exec":
            # Anywhere from EAL's first output to a little after "started".
            if not run.wait(run.first_output):
                return "exec", ["no output: %s" % run.output()[-2000:]]
            # The first run: at once, while EAL initialises.
            delay = 0.0 if nth == 0 else rng.uniform(0.0, 1.5)
            time.sleep(delay)
            note = "%.3f s after EAL's first output" % delay
        elif name == "start":
            if not run.wait(run.port_starting):
                return name, ["ports never started:\n%s" % run.output()[-2000:]]
            delay = rng.uniform(0.0, 0.03)
            time.sleep(delay)
            note = "%.3f s into `start`" % delay
        else:
            if not run.wait(run.started):
                return name, ["never started:\n%s" % run.output()[-2000:]]
            if name == "traffic":
                delay = rng.uniform(0.0, 0.5)
                time.sleep(delay)
                note = "%.3f s into traffic" % delay
            else:
                # The socket serves once the config has run: a client connects.
                TundraClient(run.sock, timeout=10, connect_timeout=10).close()
                threads, clients = {"client-sleep": _client_sleep,
                                    "client-burst": _client_burst,
                                    "client-partial": _client_partial,
                                    "client-ctl": _client_ctl,
                                    "client-idle-null": _client_partial}[name](run, rng)
        problems = run.finish(sig)
        for t in threads:
            if isinstance(t, subprocess.Popen):
                try:
                    rc = t.wait(timeout=EXIT_BOUND_S)
                    if rc not in (0, 2):
                        problems.append("tundra-ctl exit %d: %s" % (rc, t.stderr.read()))
                except subprocess.TimeoutExpired:
                    t.kill()   # our own child, by its PID
                    t.wait(timeout=10)
                    problems.append("tundra-ctl still waiting after tundra exited")
            else:
                t.join(timeout=EXIT_BOUND_S)
                if t.is_alive():
                    problems.append("a client thread still waits after tundra exited")
        if run.pre_main:
            note += " (died before main: accepted)"
        desc = "%s %s %s [%s, exit in %.2f s]" % (name, signal.Signals(sig).name, note,
                                                 run.memory, run.exit_s)
        if problems:
            problems.append("command: " + " ".join(shlex.quote(a) for a in run.cmd))
            problems.append("output tail:\n" + run.output()[-2500:])
        return desc, problems
    finally:
        for c in clients:
            c.close()
        run.abandon()


def signal_loop(scenarios, tmp_path, budget_s, default_loops=None):
    seed = int(os.environ.get("TUNDRA_SIGNAL_SEED", random.randrange(1 << 30)))
    loops = int(os.environ.get("TUNDRA_SIGNAL_LOOPS", "0")) or default_loops
    rng = random.Random(seed)
    done, t0, order = [], time.monotonic(), []
    while True:
        if loops is not None and len(done) >= loops:
            break
        if loops is None and len(done) >= len(scenarios) and time.monotonic() - t0 > budget_s:
            break
        if not order:
            order = list(scenarios)
            rng.shuffle(order)
        name = order.pop()
        sig = rng.choice([signal.SIGTERM, signal.SIGINT])
        desc, problems = signal_scenario(name, sig, rng, tmp_path,
                                         sum(d.startswith(name + " ") for d in done))
        done.append(desc)
        if problems:
            pytest.fail("TUNDRA_SIGNAL_SEED=%d, run %d: %s\n  %s\nearlier runs:\n  %s" % (
                seed, len(done), desc, "\n  ".join(problems), "\n  ".join(done[:-1])),
                pytrace=False)
    print("\nTUNDRA_SIGNAL_SEED=%d: %d runs\n  %s" % (seed, len(done), "\n  ".join(done)))


def test_signal_loop(tmp_path):
    """Random SIGTERM/SIGINT: during `start`, under traffic, with clients mid-command."""
    signal_loop(["start", "traffic", "client-sleep", "client-burst", "client-partial",
                 "client-ctl", "client-idle-null"], tmp_path, SIGNAL_BUDGET_S)


def test_signal_right_after_exec(tmp_path):
    """A signal anywhere from EAL's first output to just after "started"."""
    signal_loop(["exec"], tmp_path, 8, default_loops=4)


@pytest.mark.parametrize("command", ["wait idle 100", "sleep 60000"])
def test_signal_during_long_command(tmp_path, command):
    run = Run(tmp_path, traffic=True)
    c = None
    try:
        assert run.wait(run.started), run.output()[-2000:]
        c = TundraClient(run.sock, timeout=EXIT_BOUND_S + 5, connect_timeout=10)
        t = threading.Thread(target=_request, args=(c, command), daemon=True)
        t.start()
        time.sleep(0.3)
        problems = run.finish(signal.SIGTERM, bound_s=8)
        assert not problems, "%s: %s" % (command, "\n".join(problems))
    finally:
        if c is not None:
            c.close()
        run.abandon()
