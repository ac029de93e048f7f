"""`make install DESTDIR=...` lays out a tree a distribution could package:
the daemon, the nginx site and its snippets (accepted by `nginx -t`), the
environment file naming every BMC_* variable, systemd units that pass
`systemd-analyze verify`, sysusers.d, the man page, openapi.json and the
docs pages."""
import re
import shutil
import subprocess

import pytest

from fixtures_openapi import REPO, SPEC_PATH
from fixtures_service import BUILD

PREFIX = "/usr"
EXPECTED = [
    "usr/sbin/bmc-managerd",
    "usr/bin/bmcctl",
    "usr/share/man/man1/bmcctl.1",
    "usr/share/bash-completion/completions/bmcctl",
    "etc/bmc-manager/bmc-manager.env",
    "etc/nginx/sites-available/bmc-manager",
    "etc/nginx/snippets/bmc-manager-fastcgi.conf",
    "etc/nginx/snippets/bmc-manager-headers.conf",
    "usr/lib/systemd/system/bmc-manager.service",
    "usr/lib/systemd/system/bmc-manager.socket",
    "usr/lib/systemd/system/bmc-manager-light.socket",
    "usr/lib/sysusers.d/bmc-manager.conf",
    "usr/share/man/man8/bmc-managerd.8",
    "usr/share/bmc-manager/docs/openapi.json",
    "usr/share/bmc-manager/docs/docs.html",
    "usr/share/bmc-manager/docs/redoc.html",
    "usr/share/bmc-manager/install-docs-assets",
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A Debian-like layout: prefix /usr, sysconfdir /etc."""
    dest = tmp_path_factory.mktemp("destdir")
    p = subprocess.run(["make", "-C", str(BUILD), "-s", "install", f"DESTDIR={dest}",
                        f"prefix={PREFIX}", "sysconfdir=/etc"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return dest


def test_install_tree(tree):
    files = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file())
    assert files == sorted(EXPECTED)
    assert (tree / "usr/share/bmc-manager/docs/openapi.json").read_bytes() == \
        SPEC_PATH.read_bytes()
    unit = (tree / "usr/lib/systemd/system/bmc-manager.service").read_text()
    assert "ExecStart=/usr/sbin/bmc-managerd\n" in unit
    assert "EnvironmentFile=-/etc/bmc-manager/bmc-manager.env\n" in unit
    for line in ("User=bmc-manager", "Restart=on-failure", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "StateDirectory=bmc-manager", "PrivateTmp=yes"):
        assert line + "\n" in unit, line
    for name, fdname in (("bmc-manager.socket", "bmc"), ("bmc-manager-light.socket", "light")):
        sock = (tree / "usr/lib/systemd/system" / name).read_text()
        assert f"FileDescriptorName={fdname}\n" in sock
        assert "SocketGroup=www-data\n" in sock and "SocketMode=0660\n" in sock
    assert "u bmc-manager " in (tree / "usr/lib/sysusers.d/bmc-manager.conf").read_text()


def test_env_file_names_every_variable(tree):
    """Every BMC_* variable the daemon reads, commented out with its default."""
    env = (tree / "etc/bmc-manager/bmc-manager.env").read_text()
    sources = "".join(p.read_text() for p in (REPO / "src").glob("*.c"))
    read = set(re.findall(r'"(BMC_[A-Z_]+)"', sources))
    assert len(read) >= 20
    documented = set(re.findall(r"^#(BMC_[A-Z_]+)=", env, re.M))
    assert read <= documented, f"missing from conf/bmc-manager.env: {sorted(read - documented)}"
    assert not re.search(r"^BMC_", env, re.M), "the installed file must change nothing"
    readme = (REPO / "README.md").read_text()
    for var, default in re.findall(r"^\| `(BMC_[A-Z_]+)` \| ([^ |]+) \|", readme, re.M):
        if not default.startswith("("):
            assert f"#{var}={default}\n" in env, var


def test_units_pass_systemd_analyze_verify(tree, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = tmp_path / "units"
    shutil.copytree(tree / "usr/lib/systemd/system", units)
    service = units / "bmc-manager.service"
    # verify checks that ExecStart exists: point it into the DESTDIR tree
    service.write_text(service.read_text().replace(
        "ExecStart=/usr/sbin/", f"ExecStart={tree}/usr/sbin/"))
    p = subprocess.run([analyze, "verify", "--man=no", "bmc-manager.socket",
                        "bmc-manager-light.socket", "bmc-manager.service"],
                       cwd=units, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "bmc-manager" not in p.stderr, p.stderr


@pytest.mark.valgrind
def test_nginx_accepts_installed_site(tree, tmp_path):
    site = (tree / "etc/nginx/sites-available/bmc-manager").read_text()
    assert "include /etc/nginx/snippets/bmc-manager-fastcgi.conf;" in site
    assert "alias /usr/share/bmc-manager/docs/docs.html;" in site
    assert "server unix:/run/bmc-manager/bmc.sock;" in site
    assert "server unix:/run/bmc-manager/light.sock;" in site
    site = site.replace("/etc/nginx/snippets/", f"{tree}/etc/nginx/snippets/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; include /etc/nginx/mime.types; include {tmp_path}/site.conf; }}\n")
    p = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
