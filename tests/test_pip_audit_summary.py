"""The CI's reading of pip-audit's report (.ci/pip_audit.py): fail, warn or say it skipped."""
import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "pip_audit_ci", Path(__file__).resolve().parent.parent / ".ci" / "pip_audit.py")
pip_audit_ci = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(pip_audit_ci)


def test_nothing_reachable_is_a_skip_not_a_pass():
    report = {"dependencies": [{"name": "flask", "version": "3.1.3",
                                "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
    code, lines = pip_audit_ci.summarise(report)
    assert code == 0 and lines[0].startswith("pip-audit: SKIPPED")


def test_a_fixable_vulnerability_fails():
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "jinja2", "version": "3.1.0", "vulns": [
            {"id": "PYSEC-1", "fix_versions": ["3.1.6"], "aliases": ["CVE-2024-1"]}]}]}
    code, lines = pip_audit_ci.summarise(report)
    assert code == 1 and any("FAILED jinja2==3.1.0: PYSEC-1" in line for line in lines)


def test_an_unfixed_vulnerability_warns_and_a_clean_report_passes():
    unfixed = {"dependencies": [{"name": "x", "version": "1", "vulns": [
        {"id": "GHSA-1", "fix_versions": [], "aliases": []}]}]}
    code, lines = pip_audit_ci.summarise(unfixed)
    assert code == 0 and lines[0].startswith("pip-audit: WARNING")
    code, lines = pip_audit_ci.summarise({"dependencies": [{"name": "x", "version": "1", "vulns": []}]})
    assert code == 0 and "1 dependencies checked" in lines[-1]


def test_a_partial_skip_is_named():
    report = {"dependencies": [{"name": "a", "version": "1", "vulns": []},
                               {"name": "b", "version": "2", "skip_reason": "not on PyPI"}]}
    code, lines = pip_audit_ci.summarise(report)
    assert code == 0 and "SKIPPED for 1 of 2" in lines[0] and "b: not on PyPI" in lines[0]
