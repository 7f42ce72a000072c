"""Packaging time for every existing function, next to a `sam build`-style copy-and-zip.

Both run in the same process on the same sources, best of 5 after imports. Ours: `package_all`
(one read per file per zip, each distinct content deflated once per run, level 9), and for
reference the same zips built one `build_zip` at a time (no shared cache). Baseline:
per function, shutil.copytree of its sources into its own build folder, then
shutil.make_archive. Goal: all functions in < 100 ms, and a re-package gives the same hashes.
Run: .venv/bin/python benchmarks/bench_package.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from feedbackctl.functions import FUNCTIONS, FunctionSpec  # noqa: E402
from feedbackctl.packaging import build_zip, missing_sources, package_all  # noqa: E402

GOAL_MS = 100.0
RUNS = 5
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py")


def _best_ms(action: Any) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def _sam_style(specs: list[FunctionSpec], build: Path) -> dict[str, int]:
    """Copy each function's code into its own folder, then zip the folder (as sam does)."""
    shutil.rmtree(build, ignore_errors=True)
    sizes = {}
    for spec in specs:
        folder = build / spec.name
        (folder / "lambdas").mkdir(parents=True)
        shutil.copy2(ROOT / "lambdas/__init__.py", folder / "lambdas/__init__.py")
        for package in ("common", spec.package):
            shutil.copytree(
                ROOT / "lambdas" / package, folder / "lambdas" / package, ignore=_IGNORE
            )
        if spec.ships_engine:
            (folder / "feedbackctl").mkdir()
            for name in ("__init__.py", "functions.py"):
                shutil.copy2(ROOT / "feedbackctl" / name, folder / "feedbackctl" / name)
            shutil.copytree(
                ROOT / "feedbackctl/engine", folder / "feedbackctl/engine", ignore=_IGNORE
            )
        archive = shutil.make_archive(str(build / f"{spec.name}-sam"), "zip", folder)
        sizes[spec.name] = Path(archive).stat().st_size
    return sizes


def run() -> dict[str, Any]:
    specs = [spec for spec in FUNCTIONS if not missing_sources(spec, ROOT)]
    names = [spec.name for spec in specs]
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        work = Path(tmp)
        ours_ms = _best_ms(lambda: package_all(ROOT, work / "ours", names))
        # The same zips without the run-wide deflate cache (each common file compressed per zip).
        uncached_ms = _best_ms(lambda: [build_zip(spec, ROOT) for spec in specs])
        manifest = package_all(ROOT, work / "ours", names)
        again = package_all(ROOT, work / "again", names)
        baseline_ms = _best_ms(lambda: _sam_style(specs, work / "sam"))
        baseline_sizes = _sam_style(specs, work / "sam")
    return {
        "functions": names,
        "skipped": [spec.name for spec in FUNCTIONS if spec.name not in names],
        "ours_ms": ours_ms,
        "uncached_ms": uncached_ms,
        "baseline_ms": baseline_ms,
        "sizes": {
            name: {
                "ours": artifact.size,
                "files": artifact.files,
                "baseline": baseline_sizes[name],
            }
            for name, artifact in manifest.artifacts.items()
        },
        "repackage_same_hashes": manifest.to_json() == again.to_json(),
    }


def report(results: dict[str, Any]) -> list[str]:
    """Print the figures; return the goals missed (empty when all are met)."""
    count = len(results["functions"])
    print(
        f"package {count} functions (best of {RUNS}): {results['ours_ms']} ms; "
        f"baseline sam-build-style copytree + make_archive: {results['baseline_ms']} ms; "
        f"same zips without the shared deflate cache: {results['uncached_ms']} ms"
    )
    for name, size in results["sizes"].items():
        print(
            f"  {name:<22} {size['files']:>3} files  {size['ours'] / 1024:>6.1f} KB "
            f"(baseline zip {size['baseline'] / 1024:.1f} KB)"
        )
    if results["skipped"]:
        print(f"  not packaged (sources missing): {', '.join(results['skipped'])}")
    same = results["repackage_same_hashes"]
    print(f"re-package gives the same hashes: {'yes' if same else 'NO'}")
    missed = []
    if results["ours_ms"] >= GOAL_MS:
        missed.append(f"packaging all functions took {results['ours_ms']} ms (goal < {GOAL_MS})")
    if not same:
        missed.append("a re-package changed a hash")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("package: PASS" if not missed else "package: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
