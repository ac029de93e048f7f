"""debian/check-version: configure.ac's AC_INIT, debian/changelog's newest
entry and NEWS's newest heading say one version, or the package build
stops. (The package itself is built, installed and purged by
tests/package/run, a step of scripts/test.)"""
import re
import shutil
import subprocess

import pytest

from fixtures_openapi import REPO

pytestmark = pytest.mark.skipif(shutil.which("dpkg-parsechangelog") is None,
                                reason="dpkg-dev is not installed")


def check(tree):
    return subprocess.run([str(tree / "debian" / "check-version")], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "debian").mkdir()
    for f in ("configure.ac", "NEWS", "debian/changelog", "debian/check-version"):
        shutil.copy2(REPO / f, tmp_path / f)
    return tmp_path


def edit(path, pattern, repl):
    text = path.read_text()
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, pattern
    path.write_text(new)


@pytest.mark.valgrind  # (runs no daemon: the per-file rule, cheaply met)
def test_the_tree_agrees():
    p = check(REPO)
    assert p.returncode == 0, p.stderr
    ac = re.search(r"^AC_INIT\(\[[^]]*\], *\[([^]]*)\]", (REPO / "configure.ac").read_text(),
                   re.M).group(1)
    assert f"configure.ac {ac}" in p.stdout


def test_changelog_other_than_ac_init_fails(tree):
    edit(tree / "debian/changelog", r"^bmc-manager \(([^)-]*)-", "bmc-manager (9.9.9-")
    p = check(tree)
    assert p.returncode == 1 and "is not configure.ac's" in p.stderr


def newest(tree, heading, dist):
    """NEWS's newest heading becomes HEADING; the changelog entry's DIST."""
    edit(tree / "NEWS", r"^\* .*$", heading)
    edit(tree / "debian/changelog", r"\) [A-Za-z-]+;", f") {dist};")


def release(tree, version, dist):
    newest(tree, f"* Release {version}", dist)


def test_a_release_agrees_when_all_three_say_it(tree):
    ac = re.search(r"^AC_INIT\(\[[^]]*\], *\[([^]]*)\]", (tree / "configure.ac").read_text(),
                   re.M).group(1)
    release(tree, ac, "unstable")
    p = check(tree)
    assert p.returncode == 0, p.stderr


def test_a_release_with_an_unreleased_changelog_fails(tree):
    ac = re.search(r"^AC_INIT\(\[[^]]*\], *\[([^]]*)\]", (tree / "configure.ac").read_text(),
                   re.M).group(1)
    release(tree, ac, "UNRELEASED")
    p = check(tree)
    assert p.returncode == 1 and "UNRELEASED" in p.stderr


def test_news_releasing_another_version_fails(tree):
    release(tree, "7.0.0", "unstable")
    p = check(tree)
    assert p.returncode == 1 and "7.0.0" in p.stderr


def test_a_development_build_agrees(tree):
    newest(tree, "* Noteworthy changes in release 99.0.0 (unreleased)", "UNRELEASED")
    p = check(tree)
    assert p.returncode == 0, p.stderr


def test_coming_release_must_follow_ac_init(tree):
    newest(tree, "* Noteworthy changes in release 0.1.0 (unreleased)", "UNRELEASED")
    p = check(tree)
    assert p.returncode == 1 and "is not after" in p.stderr


def test_coming_release_with_a_released_changelog_fails(tree):
    newest(tree, "* Noteworthy changes in release 99.0.0 (unreleased)", "unstable")
    p = check(tree)
    assert p.returncode == 1 and "is unreleased" in p.stderr
