"""Deterministic Lambda zips: what each function's archive holds, its exact bytes, the manifest.

Owns the zip layout (a generated `index.py`, `lambdas/common`, the handler package, and for the
orchestrator the rollback engine), the byte-level rules that make identical sources give
byte-identical zips on any machine, and `manifest.json` (each zip's sha256 and Lambda's
CodeSha256), which releases compare with what a function runs to decide whether to publish.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedbackctl.errors import FeedbackctlError, UsageError
from feedbackctl.functions import FUNCTIONS, FunctionSpec, function

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STAGE = "dev"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
RUNTIME = "python3.12"
# The handlers need only the standard library and boto3, which the runtime provides; vendoring
# boto3 would add megabytes to every zip and every cold start for nothing.
DEPENDENCIES = "none vendored: stdlib + the runtime's boto3"
# The standard-library modules of feedbackctl the engine imports, shipped beside it: the
# function list, and the naming rule (`<stack>-<function>`) the CLI uses too, so both sides map
# physical names to functions by one definition. Neither may import anything else.
ENGINE_MODULES = ("feedbackctl/__init__.py", "feedbackctl/functions.py", "feedbackctl/naming.py")

# An allowlist mirroring pyproject's package-data rather than a denylist: an editor backup,
# a .DS_Store or a stray build file can then never change a hash. New data types go here.
PACKAGED_SUFFIXES = frozenset({".py", ".txt", ".json"})
_SKIPPED_DIRS = frozenset({"__pycache__", "tests", "test"})

# The fixed zip fields. Each entry is a regular file, rw-r--r--, dated 1980-01-01 00:00:00
# (the earliest a zip can say), written by "Unix" (3) so unzip and Lambda honour the mode.
COMPRESS_LEVEL = 9
_DOS_TIME = 0
_DOS_DATE = (1 << 5) | 1  # years since 1980 = 0, month 1, day 1
_ZIP_VERSION = 20  # 2.0: what deflate needs, and what zipfile writes
_UNIX = 3
_FILE_ATTR = 0o100644 << 16
_DEFLATED = 8
_UTF8_NAME = 0x800
_ZIP32_LIMIT = 0xFFFFFFFF  # beyond this zip64 fields would be needed; no Lambda zip gets there

_STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class PackagingError(FeedbackctlError):
    """Sources are missing or a manifest cannot be read."""


@dataclass(frozen=True)
class Artifact:
    """One built zip: where it is and the hashes that identify its code."""

    function: str
    path: Path
    sha256_hex: str
    code_sha256: str  # base64 of the raw sha256 digest, as Lambda reports CodeSha256
    size: int
    files: int

    @property
    def s3_key(self) -> str:
        """Content-addressed: the same code is uploaded under the same key, never twice."""
        return f"artifacts/{self.function}/{self.sha256_hex}.zip"


@dataclass(frozen=True)
class Manifest:
    """What one `package` run built, as written to (and read back from) manifest.json."""

    artifacts: dict[str, Artifact]
    runtime: str = RUNTIME
    dependencies: str = DEPENDENCIES

    def to_dict(self) -> dict[str, Any]:
        functions = {
            name: {
                "file": artifact.path.name,  # relative, so the build folder can move
                "sha256": artifact.sha256_hex,
                "codeSha256": artifact.code_sha256,
                "size": artifact.size,
                "files": artifact.files,
                "s3Key": artifact.s3_key,
            }
            for name, artifact in sorted(self.artifacts.items())
        }
        return {
            "version": MANIFEST_VERSION,
            "functions": functions,
            "runtime": self.runtime,
            "dependencies": self.dependencies,
        }

    def to_json(self) -> str:
        # No timestamps or absolute paths: the manifest is as deterministic as the zips.
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest; zip paths resolve against its folder."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PackagingError(
                f"cannot read {path}: {exc}", hint="run `feedbackctl package` again"
            ) from exc
        if not isinstance(raw, dict) or raw.get("version") != MANIFEST_VERSION:
            raise PackagingError(
                f"{path} is not a version {MANIFEST_VERSION} manifest",
                hint="run `feedbackctl package` again",
            )
        try:
            artifacts = {
                name: Artifact(
                    function=name,
                    path=path.parent / entry["file"],
                    sha256_hex=entry["sha256"],
                    code_sha256=entry["codeSha256"],
                    size=entry["size"],
                    files=entry["files"],
                )
                for name, entry in raw["functions"].items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise PackagingError(
                f"{path} has a malformed functions entry ({exc!r})",
                hint="run `feedbackctl package` again",
            ) from exc
        return cls(
            artifacts,
            runtime=raw.get("runtime", RUNTIME),
            dependencies=raw.get("dependencies", DEPENDENCIES),
        )


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of the raw sha256 digest (not the hex)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def default_out_dir(stage: str, root: Path = PROJECT_ROOT) -> Path:
    """`.feedbackctl/build/<stage>` under the project root (git-ignored)."""
    if not _STAGE_NAME.fullmatch(stage):
        raise UsageError(
            f"invalid stage name {stage!r}",
            hint="use letters, digits, '-' and '_': it names a build folder",
        )
    return root / ".feedbackctl" / "build" / stage


def index_source(spec: FunctionSpec) -> bytes:
    """The generated `index.py`: Lambda's handler setting is `index.lambda_handler` everywhere.

    One import and nothing else, so it adds nothing to a cold start.
    """
    return (
        f'"""Lambda entry point of {spec.name}, generated by `feedbackctl package`."""\n'
        "\n"
        f"from {spec.handler_module} import lambda_handler\n"
        "\n"
        '__all__ = ["lambda_handler"]\n'
    ).encode()


def missing_sources(spec: FunctionSpec, source_root: Path) -> list[str]:
    """The files and folders the function's zip needs that `source_root` lacks (posix, relative)."""
    needed = ["lambdas/__init__.py", "lambdas/common/", f"lambdas/{spec.package}/"]
    if spec.ships_engine:
        needed += [*ENGINE_MODULES, "feedbackctl/engine/"]
    missing = [rel for rel in needed if not _exists(source_root, rel)]
    handler = f"lambdas/{spec.package}/handler.py"
    if f"lambdas/{spec.package}/" not in missing and not (source_root / handler).is_file():
        missing.append(handler)  # index.py imports it: a zip without it cannot start
    if spec.ships_engine and "feedbackctl/engine/" not in missing:
        init = "feedbackctl/engine/__init__.py"
        missing += [] if (source_root / init).is_file() else [init]
    return missing


def sources(spec: FunctionSpec, source_root: Path) -> list[tuple[str, Path]]:
    """Every file of the zip except index.py, as (archive path, source path), sorted by name."""
    missing = missing_sources(spec, source_root)
    if missing:
        raise _missing_error(missing)
    found = [("lambdas/__init__.py", source_root / "lambdas" / "__init__.py")]
    found += _walk(source_root, "lambdas/common")
    found += _walk(source_root, f"lambdas/{spec.package}")
    if spec.ships_engine:
        found += [(rel, source_root / rel) for rel in ENGINE_MODULES]
        found += _walk(source_root, "feedbackctl/engine")
    return sorted(found)


def build_zip(spec: FunctionSpec, source_root: Path) -> bytes:
    """The function's zip, byte for byte a function of the files' names and contents alone."""
    return _zip(_entries(spec, source_root), _Deflater())


def package_all(source_root: Path, out_dir: Path, only: Sequence[str] | None = None) -> Manifest:
    """Write `<out>/<function>.zip` for each function (all, or `only`) and `<out>/manifest.json`.

    Every source is checked before anything is written: a partial set of zips is what a deploy
    must never pick up, so one missing package fails the whole run. Unknown names raise
    UnknownFunctionError.
    """
    specs = _select(only)
    missing = sorted({rel for spec in specs for rel in missing_sources(spec, source_root)})
    if missing:
        raise _missing_error(missing)
    out_dir.mkdir(parents=True, exist_ok=True)
    deflater = _Deflater()  # lambdas/common is in every zip: compress each file once per run
    artifacts: dict[str, Artifact] = {}
    for spec in specs:
        entries = _entries(spec, source_root)
        data = _zip(entries, deflater)
        path = out_dir / f"{spec.name}.zip"
        _write_atomically(path, data)
        artifacts[spec.name] = Artifact(
            function=spec.name,
            path=path,
            sha256_hex=hashlib.sha256(data).hexdigest(),
            code_sha256=code_sha256(data),
            size=len(data),
            files=len(entries),
        )
    manifest = Manifest(artifacts)
    _write_atomically(out_dir / MANIFEST_NAME, manifest.to_json().encode("utf-8"))
    return manifest


# --- sources ------------------------------------------------------------------------------


def _select(only: Sequence[str] | None) -> list[FunctionSpec]:
    if only is None:
        return list(FUNCTIONS)
    wanted = {function(name).name for name in only}
    return [spec for spec in FUNCTIONS if spec.name in wanted]  # the stack's order, no repeats


def _exists(root: Path, rel: str) -> bool:
    path = root / rel
    return path.is_dir() if rel.endswith("/") else path.is_file()


def _missing_error(missing: Iterable[str]) -> PackagingError:
    return PackagingError(
        f"missing sources: {', '.join(missing)}",
        doing="packaging",
        hint="add them, or package only the functions that exist with --function NAME",
    )


def _packaged(name: str) -> bool:
    if name.startswith(".") or Path(name).suffix not in PACKAGED_SUFFIXES:
        return False
    is_test = name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")
    return not (is_test and name.endswith(".py"))


def _walk(root: Path, rel: str) -> list[tuple[str, Path]]:
    found = []
    # os.walk does not follow symlinked folders, and the result is sorted by the caller, so
    # the filesystem's listing order never reaches the zip.
    for folder, dirs, names in os.walk(root / rel):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        for name in names:
            if _packaged(name):
                path = Path(folder, name)
                found.append((path.relative_to(root).as_posix(), path))
    return found


def _entries(spec: FunctionSpec, source_root: Path) -> list[tuple[str, bytes]]:
    # Contents as bytes, line endings untouched; index.py sorts in among the rest.
    entries = [(name, path.read_bytes()) for name, path in sources(spec, source_root)]
    entries.append(("index.py", index_source(spec)))
    return sorted(entries, key=lambda entry: entry[0])


# --- the zip format -------------------------------------------------------------------------


class _Deflater:
    """Raw deflate at a fixed level, computed once per distinct content (zipfile's own settings).

    zipfile cannot take pre-compressed data, and compressing the 128 KB sentiment lexicon
    again for every function took most of a run, hence the small writer below. Byte identity
    across machines assumes the same deflate implementation (stock zlib; zlib-ng differs).
    """

    def __init__(self) -> None:
        self._done: dict[bytes, tuple[int, bytes]] = {}

    def __call__(self, data: bytes) -> tuple[int, bytes]:
        known = self._done.get(data)
        if known is None:
            compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
            known = (zlib.crc32(data), compressor.compress(data) + compressor.flush())
            self._done[data] = known
        return known


def _zip(entries: Sequence[tuple[str, bytes]], deflate: _Deflater) -> bytes:
    """A plain (non-zip64) archive: local headers and data, central directory, end record.

    The fields are those zipfile writes for a ZipInfo with the fixed date, mode and system
    above; only names and contents vary, and no directory entries are written (extracting
    creates the folders, and Python imports from them the same).
    """
    body = bytearray()
    central = bytearray()
    for name, data in entries:
        crc, packed = deflate(data)
        if len(data) >= _ZIP32_LIMIT or len(body) >= _ZIP32_LIMIT:
            raise PackagingError(f"{name} is too large for a Lambda zip")
        encoded = name.encode("utf-8")
        flags = 0 if name.isascii() else _UTF8_NAME
        offset = len(body)
        body += struct.pack(
            "<4s2B4HL2L2H", b"PK\x03\x04", _ZIP_VERSION, 0, flags, _DEFLATED,
            _DOS_TIME, _DOS_DATE, crc, len(packed), len(data), len(encoded), 0,
        )  # fmt: skip
        body += encoded
        body += packed
        central += struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", _ZIP_VERSION, _UNIX, _ZIP_VERSION, 0, flags,
            _DEFLATED, _DOS_TIME, _DOS_DATE, crc, len(packed), len(data), len(encoded),
            0, 0, 0, 0, _FILE_ATTR, offset,
        )  # fmt: skip
        central += encoded
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return bytes(body + central + end)


def _write_atomically(path: Path, data: bytes) -> None:
    # A crash mid-write leaves the previous zip, never a truncated one a deploy could upload.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a build output is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
