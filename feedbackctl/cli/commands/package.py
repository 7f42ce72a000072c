"""`feedbackctl package`: build every function's deterministic zip and the manifest beside them.

Parsing and rendering only; what goes into a zip and how its bytes are fixed is in
`feedbackctl.packaging` (see docs/packaging.md). Its output is plain text written as is (no
rich console), so the whole command stays a small multiple of the packaging itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from feedbackctl.packaging import Manifest


def register(app: typer.Typer) -> None:
    @app.command("package")
    def package(
        stage: str | None = typer.Option(
            None,
            "--stage",
            "-s",
            metavar="STAGE",
            help="Picks the build folder .feedbackctl/build/STAGE "
            "(default: feedbackctl.toml's default_stage, else dev).",
        ),
        out: Path | None = typer.Option(
            None, "--out", metavar="DIR", help="Write the zips and manifest.json here instead."
        ),
        functions: list[str] | None = typer.Option(
            None,
            "--function",
            "-f",
            metavar="NAME",
            help="Package only this function (repeatable).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    ) -> None:
        """Build one deterministic zip per function and manifest.json (sha256, CodeSha256)."""
        import time

        from feedbackctl import packaging
        from feedbackctl.errors import UsageError
        from feedbackctl.functions import UnknownFunctionError, function

        try:
            names = [function(name).name for name in functions] if functions else None
        except UnknownFunctionError as exc:
            raise UsageError(str(exc)) from None
        out_dir = out or packaging.default_out_dir(stage or _default_stage())
        started = time.perf_counter()
        manifest = packaging.package_all(packaging.PROJECT_ROOT, out_dir, names)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if as_json:
            typer.echo(manifest.to_json(), nl=False)
        else:
            _table(manifest)
        count = len(manifest.artifacts)
        typer.echo(
            f"packaged {count} function{'s' if count != 1 else ''} in {elapsed_ms:.0f} ms; "
            f"manifest: {_shown(out_dir / packaging.MANIFEST_NAME)}",
            err=True,
        )


def _default_stage() -> str:
    # The stage only names a folder here, so a missing or broken feedbackctl.toml must not
    # stop a build; commands that talk to AWS report those problems.
    from feedbackctl.errors import FeedbackctlError
    from feedbackctl.packaging import DEFAULT_STAGE

    try:
        from feedbackctl.config import load_config

        return load_config().default_stage or DEFAULT_STAGE
    except (ImportError, FeedbackctlError):
        return DEFAULT_STAGE


def _table(manifest: Manifest) -> None:
    # Plain aligned columns rather than a rich table: nothing is folded or cut at 80 columns,
    # so the hashes and paths stay copyable and greppable.
    typer.echo(f"{'function':<22} {'files':>5} {'size KB':>8}  {'CodeSha256':<44}  zip")
    for name, artifact in manifest.artifacts.items():
        typer.echo(
            f"{name:<22} {artifact.files:>5} {artifact.size / 1024:>8.1f}  "
            f"{artifact.code_sha256:<44}  {_shown(artifact.path)}"
        )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
