"""ESP security associations (`sa add`, `sa del`, `show sa`; DESIGN.md §5.1): what is
stored and shown, errors that name the problem, and key hygiene — no output, error
or log of tundra or tundra-ctl ever contains a key or a salt, and a file of commands
that holds keys is refused when anyone but its owner may read it."""
import os
import subprocess
from pathlib import Path

import pytest

import harness
from live import Live

KEY128 = "3a1f0c77e2d94b8a5c66f01d92ab3e4f"
KEY256 = "9d2e41b07c3f58a6e1d0b4c7a2f93e5d" + "60b8c1e7f4a2d9053b6e8c1f7a4d2b90"
SALT = "c0ffee42"
SECRETS = (KEY128, KEY256, SALT)
harness.SA_SECRETS.update(SECRETS)

ADD1 = f"sa add s1 spi 0x1000 aead aes-gcm-128 key {KEY128} salt {SALT}"
ADD2 = (f"sa add s2 spi 4097 aead aes-gcm-256 key 0x{KEY256} salt 0x{SALT} esn on "
        f"replay-window 1024 lifetime bytes 1000000 packets 5000")


def assert_no_secret(text, where):
    low = text.lower()
    for s in SECRETS:
        # Any 8 consecutive digits of a key or the salt would be a leak.
        for i in range(0, len(s) - 7, 4):
            assert s[i:i + 8] not in low, f"{where} shows key material: ...{s[i:i + 8]}..."


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    d = tmp_path_factory.mktemp("tsa")  # kept: test_zz_key_hygiene scans its log
    t = Live(d / "t.sock", workdir=d)
    t.client().close()
    yield t
    assert t.stop() == 0
    assert_no_secret(t.output(), "tundra's output")


def test_add_show_delete(live):
    with live.client() as c:
        c.run(ADD1, ADD2, "sa add s3 spi 4098 aead aes-gcm-128 key %s salt %s lifetime "
              "packets 7" % (KEY128, SALT))
        text = c.run("show sa")
        got = c.show_json("sa")["sas"]
        one = c.show_json("sa s2")["sas"]
        c.run("sa del s1", "sa del s3")
        after = c.show_json("sa")["sas"]
        c.run("sa del s2")
    assert_no_secret(text, "show sa")
    assert text.splitlines()[0] == (
        "s1: spi 4096 (0x00001000), aes-gcm-128 (128-bit key, hidden), esn off, "
        "replay-window 64, lifetime bytes none packets none")
    # What the SA is, as configured (an unbound SA: no tunnel, nothing counted yet).
    base = ("name", "spi", "aead", "key_bits", "esn", "replay_window", "lifetime_bytes",
            "lifetime_packets")
    assert all((s["tunnel"], s["direction"], s["packets"]) == ("", "", 0) for s in got)
    got = [{k: s[k] for k in base} for s in got]
    one = [{k: s[k] for k in base} for s in one]
    assert got == [
        {"name": "s1", "spi": 4096, "aead": "aes-gcm-128", "key_bits": 128, "esn": False,
         "replay_window": 64, "lifetime_bytes": 0, "lifetime_packets": 0},
        {"name": "s2", "spi": 4097, "aead": "aes-gcm-256", "key_bits": 256, "esn": True,
         "replay_window": 1024, "lifetime_bytes": 1000000, "lifetime_packets": 5000},
        {"name": "s3", "spi": 4098, "aead": "aes-gcm-128", "key_bits": 128, "esn": False,
         "replay_window": 64, "lifetime_bytes": 0, "lifetime_packets": 7}]
    assert one == [got[1]]
    assert [s["name"] for s in after] == ["s2"]


BAD = [
    (f"sa add b spi 255 aead aes-gcm-128 key {KEY128} salt {SALT}",
     "SPI 255 is reserved (RFC 4303: 0..255); use 256..4294967295"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128[:-2]}zz salt {SALT}",
     "the key of aes-gcm-128 must be 32 hex digits (128 bits)"),
    (f"sa add b spi 300 aead aes-gcm-256 key {KEY128} salt {SALT}",
     "the key of aes-gcm-256 must be 64 hex digits (256 bits)"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT}00",
     "the salt must be 8 hex digits (32 bits)"),
    (f"sa add b spi 300 aead aes-gcm-128 {KEY128} salt {SALT}",
     "unexpected '<hidden>' after 'sa add b spi 300 aead aes-gcm-128': expected key"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128}",
     "missing 'salt' after 'sa add b spi 300 aead aes-gcm-128 key <hidden>'"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT} replay-window {KEY128}",
     "bad value '<hidden>' for <window>: expected a number 0..4096"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT} replay-window 4097",
     "bad value '4097' for <window>: expected a number 0..4096"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT} lifetime bytes 5 bytes 6",
     "lifetime bytes given twice"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT} packets 6",
     "'bytes' or 'packets' comes after 'lifetime'"),
    (f"sa add b spi 300 aead aes-gcm-192 key {KEY128} salt {SALT}",
     "bad value 'aes-gcm-192' for <aead>: expected one of aes-gcm-128, aes-gcm-256"),
    (f"sa add b spi 300 aead aes-gcm-128 key {KEY128} salt {SALT} esn on replay-window 0",
     "esn on needs a replay window (not 0)"),
    ("sa del nosuch", "no SA 'nosuch'"),
    ("show sa nosuch", "no SA 'nosuch'"),
]


@pytest.mark.parametrize("line,message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_lines_are_refused_whole_and_never_quote_a_key(live, line, message):
    with live.client() as c:
        c.run(ADD1)
        ok, out, msg = c.request(line)
        left = c.show_json("sa")["sas"]
        c.run("sa del s1")
    assert (ok, msg) == (False, message)
    assert_no_secret(out + msg, "the error")
    assert [s["name"] for s in left] == ["s1"]
    # A duplicate SPI is refused and names the SA that has it, not its key.
    with live.client() as c:
        c.run(ADD1)
        ok, _, msg = c.request(ADD1.replace("s1", "other"))
        c.run("sa del s1")
    assert (ok, msg) == (False, "SPI 4096 (0x00001000) is already SA 's1'")


def _write(path, text, mode):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_config_file_with_keys_must_be_private(tmp_path):
    """Mode 0644 or 0640: refused before any line runs. 0600: runs."""
    body = f"port config 0 role uplink\n{ADD1}\nshow sa json\nquit\n"
    for mode in (0o644, 0o640):
        cfg = _write(tmp_path / ("k%o.cfg" % mode), body, mode)
        r = subprocess.run(_cmd(tmp_path, cfg), capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert ("error: %s: holds SA keys (line 2) but is readable by group or others "
                "(mode %04o): chmod 600 it" % (cfg, mode)) in r.stderr, r.stderr
        assert '"sas"' not in r.stdout
        assert_no_secret(r.stdout + r.stderr, "tundra's output")
    cfg = _write(tmp_path / "ok.cfg", body, 0o600)
    r = subprocess.run(_cmd(tmp_path, cfg), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"name":"s1"' in r.stdout
    assert_no_secret(r.stdout + r.stderr, "tundra's output")
    # Without keys, a readable file is fine.
    cfg = _write(tmp_path / "plain.cfg", "port config 0 role uplink\nquit\n", 0o644)
    r = subprocess.run(_cmd(tmp_path, cfg), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]


def _cmd(tmp_path, cfg):
    return [str(harness.tundra_bin()), *harness.lcore_args(1), "--no-pci",
            *harness.eal_mem_args(), "--file-prefix=tsa_%d" % os.getpid(),
            "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--",
            "--config=%s" % cfg, "--socket=none"]


def test_tundra_ctl_refuses_a_readable_key_file(live, tmp_path):
    ctl = harness.tundra_bin().with_name("tundra-ctl")
    batch = _write(tmp_path / "keys.batch", f"{ADD1}\n", 0o644)
    r = subprocess.run([str(ctl), "--socket=" + live.sock, "-f", str(batch)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "holds SA keys (line 1) but is readable by group or others" in r.stderr
    with live.client() as c:
        assert c.show_json("sa")["sas"] == []
    batch.chmod(0o600)
    r = subprocess.run([str(ctl), "--socket=" + live.sock, "-f", str(batch)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(ctl), "--socket=" + live.sock, "show", "sa"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.startswith("s1: spi 4096") and r.returncode == 0
    assert_no_secret(r.stdout + r.stderr, "tundra-ctl")
    with live.client() as c:
        c.run("sa del s1")
