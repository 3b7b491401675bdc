"""Tests that need a kernel feature this machine's kernel lacks (ESP, GCM) run inside a
user-mode Linux kernel (Debian's user-mode-linux: linux.uml, a kernel that runs as a
process, no virtualisation needed) booted with the host's filesystem as its root, so the
same tundra binary, Python, iproute2 and strongSwan run there.

A module that may need it parametrizes its cases as usual and asks `outcomes()` how
each case went: on a kernel that has the feature the module runs its cases itself; on
one that lacks it, the module is run once, whole, by pytest inside UML, and each case
reports the inner outcome (passed, failed with the inner message, or skipped), so the
counts are the cases', not one wrapper's."""
import os
import pathlib
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INIT = HERE / "uml_init.sh"
INSIDE = "TUNDRA_IN_UML"


def kernel():
    """The UML kernel's path, or None (`apt-get install user-mode-linux`)."""
    return shutil.which("linux.uml")


def inside():
    return os.environ.get(INSIDE) == "1"


def run_module(module, workdir, *, timeout=1200, mem="1536M", keyword=""):
    """Runs pytest on `module` (-k `keyword` when given) inside UML; returns
    ({test id: (outcome, message)}, log)."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    junit, log = workdir / "inner.xml", workdir / "inner.log"
    env = {
        INSIDE: "1",
        "TUNDRA_BIN": os.environ.get("TUNDRA_BIN", str(ROOT / "build/control/tundra")),
        # No hugetlbfs inside, and the guest's memory is `mem`.
        "TUNDRA_EAL_MEM": "--no-huge -m 256",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    script = workdir / "inner.sh"  # the kernel's command line splits at spaces: a file
    select = " -k %s" % shlex.quote(keyword) if keyword else ""
    script.write_text("cd '%s'\n%s\nexec /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider "
                      "--basetemp='%s' --junitxml='%s'%s '%s' > '%s' 2>&1\n" % (
                          ROOT, "\n".join("export %s='%s'" % kv for kv in env.items()),
                          workdir / "tmp", junit, select, module, log))
    (workdir / "rc").unlink(missing_ok=True)
    console = workdir / "console.log"
    with open(console, "wb") as out:
        # TMPDIR: the guest's memory is a file there, unlinked at once (tmpfs is fastest).
        p = subprocess.run(
            ["timeout", "-k", "10", str(timeout), kernel(), "mem=" + mem, "root=/dev/root",
             "rootfstype=hostfs", "rootflags=/", "rw", "init=" + str(INIT),
             "UMLCMD=" + str(script), "UMLOUT=" + str(workdir), "con=null", "con0=null,fd:1",
             "con1=null", "quiet"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": "/dev/shm"})
    text = log.read_text(errors="replace") if log.exists() else ""
    if not junit.exists():
        raise AssertionError("pytest inside user-mode Linux left no results (linux.uml exit %d)"
                             "\nconsole:\n%s\npytest:\n%s" % (
                                 p.returncode, console.read_text(errors="replace")[-3000:],
                                 text[-3000:]))
    results = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                message = (el.get("message") or "") + "\n" + (el.text or "")
                break
        results[name] = (outcome, message)
    return results, text
