"""Packaging: zip layout, byte-for-byte determinism, hashes, the manifest and missing sources.

Most tests build from a small fake source tree (tmp_path) so they do not depend on which
functions exist today; the last ones package the real repository and import the result.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from feedbackctl import packaging
from feedbackctl.errors import UsageError
from feedbackctl.functions import FUNCTIONS, UnknownFunctionError, function
from feedbackctl.packaging import Artifact, Manifest, PackagingError, build_zip, package_all

COMMON = [
    "lambdas/common/__init__.py",
    "lambdas/common/lexicon.txt",
    "lambdas/common/nested/__init__.py",
    "lambdas/common/nested/table.json",
    "lambdas/common/util.py",
]
ENGINE = [
    "feedbackctl/__init__.py",
    "feedbackctl/engine/__init__.py",
    "feedbackctl/engine/plan.py",
    "feedbackctl/functions.py",
    "feedbackctl/naming.py",
]


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A source tree with every function, the engine, and files that must stay out of zips."""
    root = tmp_path / "src"
    _write(root, "lambdas/__init__.py", "")
    for rel in COMMON:
        _write(root, rel, f"# {rel}\n")
    for spec in FUNCTIONS:
        _write(root, f"lambdas/{spec.package}/__init__.py", "")
        _write(
            root,
            f"lambdas/{spec.package}/handler.py",
            f"def lambda_handler(event, context):\n    return {spec.name!r}\n",
        )
    for rel in ENGINE:
        _write(root, rel, f"# {rel}\n")
    # Never packaged: bytecode, tests, hidden files, files outside the allowlist, CLI code.
    for rel in (
        "lambdas/common/__pycache__/util.cpython-311.pyc",
        "lambdas/common/util.pyc",
        "lambdas/common/test_util.py",
        "lambdas/common/util_test.py",
        "lambdas/common/conftest.py",
        "lambdas/common/tests/helper.py",
        "lambdas/common/.hidden.py",
        "lambdas/common/.cache/data.json",
        "lambdas/common/notes.md",
        "lambdas/common/util.py~",
        "lambdas/health/__pycache__/handler.cpython-311.pyc",
        "feedbackctl/errors.py",
        "feedbackctl/cli/app.py",
        "feedbackctl/engine/__pycache__/plan.cpython-311.pyc",
    ):
        _write(root, rel, "not packaged\n")
    return root


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def _all_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


# --- determinism ------------------------------------------------------------------------------


def test_packaging_twice_gives_identical_bytes_and_hashes(tree, tmp_path):
    first = package_all(tree, tmp_path / "one")
    second = package_all(tree, tmp_path / "two")

    for spec in FUNCTIONS:
        a, b = first.artifacts[spec.name], second.artifacts[spec.name]
        assert a.path.read_bytes() == b.path.read_bytes()
        assert (a.sha256_hex, a.code_sha256, a.size, a.files) == (
            b.sha256_hex,
            b.code_sha256,
            b.size,
            b.files,
        )
    assert (tmp_path / "one/manifest.json").read_bytes() == (
        tmp_path / "two/manifest.json"
    ).read_bytes()


def test_mtimes_and_permissions_do_not_change_a_zip(tree):
    spec = function("rollback-orchestrator")
    before = build_zip(spec, tree)
    for number, path in enumerate(_all_files(tree)):
        os.utime(path, (1_000_000 + number, 2_000_000_000 - number))
        path.chmod(0o755 if number % 2 else 0o600)

    assert build_zip(spec, tree) == before


def test_umask_of_a_rewritten_source_does_not_change_a_zip(tree):
    spec = function("health")
    before = build_zip(spec, tree)
    handler = tree / "lambdas/health/handler.py"
    content = handler.read_bytes()
    handler.unlink()
    old = os.umask(0o077)
    try:
        handler.write_bytes(content)
    finally:
        os.umask(old)

    assert build_zip(spec, tree) == before


def test_the_source_location_does_not_change_a_zip(tree, tmp_path):
    moved = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(tree, moved)

    for spec in FUNCTIONS:
        assert build_zip(spec, moved) == build_zip(spec, tree)


def test_matches_what_zipfile_writes_for_the_fixed_fields(tree):
    # The small writer exists for speed only: it must write what the standard library would.
    spec = function("rollback-orchestrator")
    ours = build_zip(spec, tree)
    source = zipfile.ZipFile(io.BytesIO(ours))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as reference:
        for name in source.namelist():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            reference.writestr(info, source.read(name), compresslevel=9)

    assert ours == buffer.getvalue()


# --- layout -------------------------------------------------------------------------------------


def test_entries_are_sorted_files_only_with_fixed_metadata(tree):
    data = build_zip(function("health"), tree)
    archive = zipfile.ZipFile(io.BytesIO(data))

    assert archive.namelist() == [
        "index.py",
        "lambdas/__init__.py",
        *COMMON,
        "lambdas/health/__init__.py",
        "lambdas/health/handler.py",
    ]
    assert archive.testzip() is None
    for info in archive.infolist():
        assert not info.is_dir()
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr == 0o100644 << 16
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_index_imports_the_functions_handler_and_nothing_else(tree):
    for spec in FUNCTIONS:
        index = zipfile.ZipFile(io.BytesIO(build_zip(spec, tree))).read("index.py").decode()

        assert index == (
            f'"""Lambda entry point of {spec.name}, generated by `feedbackctl package`."""\n'
            "\n"
            f"from lambdas.{spec.package}.handler import lambda_handler\n"
            "\n"
            '__all__ = ["lambda_handler"]\n'
        )
        compile(index, "index.py", "exec")


def test_bytecode_tests_hidden_and_unlisted_files_stay_out(tree):
    names = _names(build_zip(function("health"), tree))

    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", "~", ".md"))]
    assert not [n for n in names if "test" in n.rsplit("/", 1)[-1] or "/tests/" in n]
    assert not [n for n in names if "/." in n]


def test_only_the_orchestrator_ships_the_engine(tree):
    for spec in FUNCTIONS:
        names = _names(build_zip(spec, tree))
        shipped = [n for n in names if n.startswith("feedbackctl/")]
        if spec.ships_engine:
            assert shipped == ENGINE  # never the CLI or anything else of feedbackctl
        else:
            assert shipped == []
        others = {f"lambdas/{s.package}/handler.py" for s in FUNCTIONS} - {
            f"lambdas/{spec.package}/handler.py"
        }
        assert others.isdisjoint(names)


def test_contents_and_line_endings_are_kept_byte_for_byte(tree):
    raw = b"# windows line endings\r\nVALUE = 1\r\n\xef\xbb\xbf"
    (tree / "lambdas/common/util.py").write_bytes(raw)

    archive = zipfile.ZipFile(io.BytesIO(build_zip(function("health"), tree)))

    assert archive.read("lambdas/common/util.py") == raw
    assert (
        archive.read("lambdas/common/nested/table.json")
        == (tree / "lambdas/common/nested/table.json").read_bytes()
    )


# --- hashes and the manifest --------------------------------------------------------------------


def test_code_sha256_is_base64_of_the_raw_digest():
    assert packaging.code_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_artifacts_carry_the_hashes_of_the_written_zips(tree, tmp_path):
    manifest = package_all(tree, tmp_path / "out", only=["health", "rollback-orchestrator"])

    assert list(manifest.artifacts) == ["health", "rollback-orchestrator"]
    for name, artifact in manifest.artifacts.items():
        data = artifact.path.read_bytes()
        assert artifact.path == tmp_path / "out" / f"{name}.zip"
        assert artifact.sha256_hex == hashlib.sha256(data).hexdigest()
        assert artifact.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert artifact.size == len(data)
        assert artifact.files == len(_names(data))
        assert artifact.s3_key == f"artifacts/{name}/{artifact.sha256_hex}.zip"
        assert data == build_zip(function(name), tree)


def test_manifest_file_format(tree, tmp_path):
    manifest = package_all(tree, tmp_path / "out", only=["health"])
    health = manifest.artifacts["health"]
    text = (tmp_path / "out/manifest.json").read_text()

    assert json.loads(text) == {
        "version": 1,
        "functions": {
            "health": {
                "file": "health.zip",
                "sha256": health.sha256_hex,
                "codeSha256": health.code_sha256,
                "size": health.size,
                "files": 9,
                "s3Key": f"artifacts/health/{health.sha256_hex}.zip",
            }
        },
        "runtime": "python3.12",
        "dependencies": "none vendored: stdlib + the runtime's boto3",
    }
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert text == manifest.to_json()


def test_manifest_loads_back_equal(tree, tmp_path):
    manifest = package_all(tree, tmp_path / "out")

    assert Manifest.load(tmp_path / "out/manifest.json") == manifest


@pytest.mark.parametrize(
    "content",
    ["not json", '{"version": 2, "functions": {}}', '{"version": 1, "functions": {"x": {}}}'],
)
def test_an_unreadable_manifest_is_a_clear_error(tmp_path, content):
    path = tmp_path / "manifest.json"
    path.write_text(content)

    with pytest.raises(PackagingError, match=re.escape(str(path))):
        Manifest.load(path)


def test_a_changed_handler_changes_only_that_functions_hash(tree, tmp_path):
    before = package_all(tree, tmp_path / "before")
    _write(tree, "lambdas/health/handler.py", "def lambda_handler(event, context):\n    return 2\n")
    after = package_all(tree, tmp_path / "after")

    changed = {n for n in before.artifacts if _sha(before, n) != _sha(after, n)}
    assert changed == {"health"}


def test_a_changed_engine_file_changes_only_the_orchestrator(tree, tmp_path):
    before = package_all(tree, tmp_path / "before")
    _write(tree, "feedbackctl/engine/plan.py", "# changed\n")
    after = package_all(tree, tmp_path / "after")

    changed = {n for n in before.artifacts if _sha(before, n) != _sha(after, n)}
    assert changed == {"rollback-orchestrator"}


def test_a_changed_common_file_changes_every_hash(tree, tmp_path):
    before = package_all(tree, tmp_path / "before")
    _write(tree, "lambdas/common/lexicon.txt", "# changed\n")
    after = package_all(tree, tmp_path / "after")

    changed = {n for n in before.artifacts if _sha(before, n) != _sha(after, n)}
    assert changed == {spec.name for spec in FUNCTIONS}


def test_excluded_files_do_not_change_any_hash(tree, tmp_path):
    before = package_all(tree, tmp_path / "before")
    _write(tree, "lambdas/common/__pycache__/new.cpython-312.pyc", "x")
    _write(tree, "lambdas/health/test_handler.py", "x")
    _write(tree, "lambdas/health/.handler.py.swp", "x")
    after = package_all(tree, tmp_path / "after")

    assert before.to_json() == after.to_json()


def _sha(manifest: Manifest, name: str) -> str:
    return manifest.artifacts[name].sha256_hex


# --- selection and missing sources ------------------------------------------------------------


def test_only_keeps_the_stacks_order_and_drops_repeats(tree, tmp_path):
    manifest = package_all(tree, tmp_path / "out", only=["health", "create-feedback", "health"])

    assert list(manifest.artifacts) == ["create-feedback", "health"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "create-feedback.zip",
        "health.zip",
        "manifest.json",
    ]


def test_an_unknown_function_lists_the_valid_names(tree, tmp_path):
    with pytest.raises(UnknownFunctionError, match="valid names: create-feedback, list-feedback"):
        package_all(tree, tmp_path / "out", only=["health", "unknown-fn"])


def test_a_missing_package_fails_the_whole_run_before_writing(tree, tmp_path):
    shutil.rmtree(tree / "lambdas/rollback_orchestrator")
    shutil.rmtree(tree / "lambdas/health")
    out = tmp_path / "out"

    with pytest.raises(PackagingError) as raised:
        package_all(tree, out)

    assert str(raised.value) == (
        "packaging: missing sources: lambdas/health/, lambdas/rollback_orchestrator/ "
        "(add them, or package only the functions that exist with --function NAME)"
    )
    assert not out.exists()
    assert list(package_all(tree, out, only=["create-feedback"]).artifacts) == ["create-feedback"]


def test_a_missing_handler_or_engine_is_named(tree, tmp_path):
    (tree / "lambdas/health/handler.py").unlink()
    shutil.rmtree(tree / "feedbackctl/engine")

    with pytest.raises(PackagingError) as raised:
        package_all(tree, tmp_path / "out", only=["health", "rollback-orchestrator"])
    assert raised.value.message == (
        "missing sources: feedbackctl/engine/, lambdas/health/handler.py"
    )
    with pytest.raises(PackagingError, match="feedbackctl/engine/"):
        build_zip(function("rollback-orchestrator"), tree)


def test_the_default_build_folder_is_per_stage(tmp_path):
    assert packaging.default_out_dir("prod", tmp_path) == tmp_path / ".feedbackctl/build/prod"
    assert packaging.default_out_dir("dev") == packaging.PROJECT_ROOT / ".feedbackctl/build/dev"
    with pytest.raises(UsageError, match=re.escape("invalid stage name '../x'")):
        packaging.default_out_dir("../x", tmp_path)


# --- the real repository ----------------------------------------------------------------------

REAL_ROOT = packaging.PROJECT_ROOT
EXISTING = [s.name for s in FUNCTIONS if (REAL_ROOT / "lambdas" / s.package).is_dir()]


def _extract(artifact: Artifact, into: Path) -> Path:
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(into)
    return into


def _import_from(folder: Path, code: str) -> list[str]:
    """Run `code` in a fresh interpreter in `folder`, then report where modules came from.

    cwd comes first on sys.path for `python -c`, so the extracted copy shadows the checkout;
    the last two lines printed prove it: project modules loaded from outside the folder, and
    CLI-side libraries loaded at all (both must be empty).
    """
    report = (
        "import os, sys\n"
        "here = os.getcwd()\n"
        "print(sorted(n for n, m in sys.modules.items()\n"
        "    if n.split('.')[0] in ('feedbackctl', 'lambdas', 'index')\n"
        "    and not (getattr(m, '__file__', None) or '').startswith(here)))\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}\n"
        "    & {'typer', 'rich', 'click', 'jinja2', 'moto', 'yaml'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-c", code + "\n" + report],
        cwd=folder,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def test_the_real_functions_package_deterministically(tmp_path):
    first = package_all(REAL_ROOT, tmp_path / "one", only=EXISTING)
    second = package_all(REAL_ROOT, tmp_path / "two", only=EXISTING)

    assert first.to_json() == second.to_json()
    assert "health" in first.artifacts


def test_a_real_zip_imports_its_handler_from_the_zip_alone(tmp_path):
    manifest = package_all(REAL_ROOT, tmp_path / "out", only=["health"])
    folder = _extract(manifest.artifacts["health"], tmp_path / "health")

    out = _import_from(folder, "import index; print(index.lambda_handler.__name__)")

    assert out == ["lambda_handler", "[]", "[]"]


@pytest.mark.skipif(
    "rollback-orchestrator" not in EXISTING, reason="lambdas/rollback_orchestrator not written yet"
)
def test_the_real_orchestrator_runs_the_engine_shipped_in_its_zip(tmp_path):
    manifest = package_all(REAL_ROOT, tmp_path / "out", only=["rollback-orchestrator"])
    folder = _extract(manifest.artifacts["rollback-orchestrator"], tmp_path / "orchestrator")

    out = _import_from(
        folder,
        "import importlib, pkgutil, index, feedbackctl.engine as engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'feedbackctl.engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "from feedbackctl.engine import aws_ports, incident\n"
        "from feedbackctl.naming import function_name\n"
        "print(index.lambda_handler.__name__)\n"
        "ops = aws_ports.LambdaOps(None, 's')\n"
        "print(ops.physical('f'), incident.function_name is function_name)",
    )

    # Every feedbackctl module the handler and the engine need is in the zip, and nothing
    # CLI-side is imported: the Lambda runs exactly the engine the CLI runs, and names functions
    # by the one rule in feedbackctl/naming.py (shipped in the zip, loaded from it).
    assert out == ["lambda_handler", "s-f True", "[]", "[]"]
