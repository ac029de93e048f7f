"""Integration tests: real nginx + bmc-managerd (+ simulated BMCs).

Fixture modules are the fixtures_*.py files beside this one; each is loaded
as a pytest plugin, so adding one needs no edit here.
"""
import pathlib

import pytest

pytest_plugins = sorted(
    p.stem for p in pathlib.Path(__file__).parent.glob("fixtures_*.py")
)


# Every test file has at least one test marked `valgrind`: tests/valgrind/run
# selects them (-m valgrind) from every file, so a file without one would
# silently escape memcheck. The check runs on whatever was collected,
# before -k/-m deselect anything.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    marked = {}
    for item in items:
        name = pathlib.Path(str(item.fspath)).name
        marked[name] = marked.get(name, False) or bool(
            item.get_closest_marker("valgrind"))
    missing = sorted(n for n, m in marked.items() if not m)
    if missing:
        raise pytest.UsageError(
            "no test marked @pytest.mark.valgrind in: " + ", ".join(missing)
            + " (mark one representative test per file; tests/valgrind/run"
            " runs them under memcheck)")
