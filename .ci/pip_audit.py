"""Audit requirements.txt with pip-audit and say plainly what happened.

Outcomes, one line each on stdout:
  * ``pip-audit: N dependencies checked, no known vulnerability`` -> exit 0
  * ``pip-audit: FAILED ...`` a pinned dependency has a known vulnerability with a fixed release
    -> exit 1 (pip-audit reports no severity, so *any* fixable known vulnerability fails CI:
    bump the pin in requirements.txt to a fixed version)
  * ``pip-audit: WARNING ...`` a known vulnerability with no fixed release yet -> exit 0, listed
  * ``pip-audit: SKIPPED ...`` the vulnerability data could not be reached (no network, a PyPI
    mirror without the JSON API, a timeout), wholly or for some dependencies -> exit 0, listed

Usage: python .ci/pip_audit.py [requirements.txt]   (PIP_AUDIT_TIMEOUT, default 180 s)
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_audit(requirements, timeout):
    """pip-audit's JSON report as a dict, or ``(None, why)`` when it could not run."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [str(pip_audit), "-r", str(requirements), "--progress-spinner", "off",
                   "-f", "json", "-o", str(report)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError:
            return None, "pip-audit is not installed (pip install -r requirements-dev.txt)"
        except subprocess.TimeoutExpired:
            return None, f"pip-audit did not finish within {timeout} s"
        if not report.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"pip-audit could not run: {last[:300]}"
        return json.loads(report.read_text()), None


def summarise(report):
    """``(exit_code, lines)`` for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    checked = [d for d in deps if not d.get("skip_reason")]
    fixable, unfixed = [], []
    for dep in checked:
        for vuln in dep.get("vulns", []):
            entry = (f"{dep['name']}=={dep['version']}: {vuln['id']} "
                     f"({', '.join(vuln.get('aliases', [])) or 'no alias'})")
            if vuln.get("fix_versions"):
                fixable.append(f"{entry}, fixed in {', '.join(vuln['fix_versions'])}")
            else:
                unfixed.append(f"{entry}, no fixed release yet")
    lines = []
    if not checked:
        lines.append(f"pip-audit: SKIPPED: the vulnerability data could not be reached for any of "
                     f"the {len(deps)} dependencies ({(skipped[0]['skip_reason'] if skipped else 'none listed')})")
        return 0, lines
    if skipped:
        lines.append(f"pip-audit: SKIPPED for {len(skipped)} of {len(deps)} dependencies: "
                     + "; ".join(f"{d['name']}: {d['skip_reason']}" for d in skipped))
    for entry in unfixed:
        lines.append(f"pip-audit: WARNING {entry}")
    if fixable:
        lines += [f"pip-audit: FAILED {entry}" for entry in fixable]
        return 1, lines
    lines.append(f"pip-audit: {len(checked)} dependencies checked, no known vulnerability with a fix")
    return 0, lines


def main(argv):
    requirements = Path(argv[1]) if len(argv) > 1 else ROOT / "requirements.txt"
    report, why = run_audit(requirements, int(os.environ.get("PIP_AUDIT_TIMEOUT", 180)))
    if report is None:
        print(f"pip-audit: SKIPPED: {why}")
        return 0
    code, lines = summarise(report)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
