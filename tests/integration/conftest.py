"""Integration tests: real nginx + bmc-managerd (+ simulated BMCs).

Fixture modules are the fixtures_*.py files beside this one; each is loaded
as a pytest plugin, so adding one needs no edit here.
"""
import pathlib

pytest_plugins = sorted(
    p.stem for p in pathlib.Path(__file__).parent.glob("fixtures_*.py")
)
