"""The `feedbackctl` Typer application: global flags, lazy command loading, the one exit path.

Each command lives in one place under `feedbackctl.cli.commands`: a module, or a package whose
`__init__` is that module; each exposes `register(app)`. The root group lists them from
feedbackctl.cli.catalog and imports a command's module only when that command runs, completes
or shows its help; the root help is the catalog's. Errors from
the FeedbackctlError family print as one line and exit with their code, in the app itself, so
tests through CliRunner see exactly what a user sees.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer._click.shell_completion import CompletionItem
from typer.core import TyperGroup
from typer.main import get_group as build_group

from feedbackctl.cli import catalog, completion, manual
from feedbackctl.errors import FeedbackctlError


def load_command(name: str) -> Any:
    """The click command `name` as its module registers it, its parameters completing."""
    module = importlib.import_module(f"feedbackctl.cli.commands.{catalog.module_of(name)}")
    holder = typer.Typer(
        add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False
    )
    module.register(holder)
    command = build_group(holder).commands.get(name)
    if command is None:
        raise RuntimeError(f"{module.__name__} registers no command {name!r}")
    completion.attach(command)
    manual.apply(command)
    return command


class _Commands(MutableMapping[str, Any]):
    """The root's commands: the catalog's names, each command loaded on its first lookup."""

    def __init__(self) -> None:
        self._names = [name for name, _module, _summary in catalog.COMMANDS]
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._names:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class _Group(TyperGroup):
    """The root group: lazy commands, the catalog's help, plain completion formats, and the one
    exit path (a FeedbackctlError becomes one line on stderr and its exit code)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(catalog.root_help(ctx.command_path, formatter.width) + "\n")

    def shell_complete(self, ctx: Any, incomplete: str) -> list[CompletionItem]:
        commands = [
            CompletionItem(name, help=summary)
            for name, _module, summary in catalog.COMMANDS
            if name.startswith(incomplete)
        ]
        # The root's own options, as TyperGroup's base completes them: TyperGroup itself would
        # load every command to read its help, which the catalog already has.
        return commands + super(TyperGroup, self).shell_complete(ctx, incomplete)

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: Any = None
    ) -> None:
        completion.use_plain_formats()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FeedbackctlError as exc:
            from feedbackctl.cli.console import Terminal

            Terminal().error(str(exc))
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_Group,
    name=catalog.PROG,
    help="\n\n".join(catalog.DESCRIPTION),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(catalog.version_line())
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Deploy, release, roll back and observe the serverless feedback platform."""


def main() -> None:
    """Run the app on sys.argv (Ctrl-C prints "Aborted!" and exits 1, as click does)."""
    app(prog_name=catalog.PROG, complete_var=catalog.COMPLETE_VAR)
