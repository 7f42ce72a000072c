"""moto's check that an UpdateExpression has at most one SET, REMOVE and ADD clause, in one pass.

moto 5.2 validates an UpdateExpression before applying it, and its first check
(`ActionCountValidator`) runs at every node of the expression's tree: at each one it collects
the node's SET, REMOVE and ADD clauses by walking the node's whole subtree again. Nearly every
node of an update is such a node, so the check costs the square of the expression's size. The
stream aggregator's update of the global analytics item has about 140 nodes: the check made a
third of each batch's TransactWriteItems, which holds the journal's lock (every table write
waits) for its whole length (py-spy and cProfile on the local platform under 16 clients,
docs/local.md, "Figures").

`install()` gives the check one pass: every node's clause counts are computed once, from its
children's, and the nodes are checked in moto's order (children first), raising moto's own
TooManyClauses for the first node moto would refuse. The check changes nothing in the tree.
`tests/functional/test_moto_update.py` compares answers, refusals included, with moto's own.
`uninstall()` puts moto's check back.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

__all__ = ["install", "uninstall"]

_lock = threading.Lock()
_originals: dict[str, Any] = {}


class _Clauses:
    """Per node of one expression's tree, how many SET, REMOVE and ADD clauses moto's
    `find_clauses` finds below it; each node counted once, from its children's counts."""

    NAMES = ("ADD", "REMOVE", "SET")  # the order moto checks them in

    def __init__(self) -> None:
        nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
        self.node, self.update = nodes.Node, nodes.UpdateExpression
        self.descend = (nodes.Expression, nodes.UpdateExpressionFunction)
        self.kinds = (
            nodes.UpdateExpressionAddClause,
            nodes.UpdateExpressionRemoveClause,
            nodes.UpdateExpressionSetClause,
        )
        self.counts: dict[int, tuple[int, ...]] = {}

    def found(self, node: Any) -> tuple[int, ...]:
        """How many clauses of each kind `node.find_clauses([kind])` returns."""
        known = self.counts.get(id(node))
        if known is None:
            totals = [0, 0, 0]
            for child in node.children or []:
                below = self.found(child) if isinstance(child, self.descend) else (0, 0, 0)
                for k, kind in enumerate(self.kinds):
                    totals[k] += 1 if type(child) is kind else below[k]
            known = self.counts[id(node)] = tuple(totals)
        return known

    def check(self, node: Any) -> None:
        """moto's check at every node, children first: TooManyClauses where moto raises it."""
        if not isinstance(node, self.node):
            return
        for child in node.children or []:
            self.check(child)
        if isinstance(node, self.update):
            for name, count in zip(self.NAMES, self.found(node), strict=True):
                if count > 1:
                    exceptions: Any = importlib.import_module("moto.dynamodb.exceptions")
                    raise exceptions.TooManyClauses(name)


def _checked(validator: Any, root: Any) -> Any:
    """ActionCountValidator.traverse in one pass (the module's text)."""
    _Clauses().check(root)
    return root


def install() -> None:
    with _lock:
        if _originals:
            return
        from moto.dynamodb.parsing.validators import ActionCountValidator

        _originals["traverse"] = ActionCountValidator.traverse
        ActionCountValidator.traverse = _checked


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        from moto.dynamodb.parsing.validators import ActionCountValidator

        ActionCountValidator.traverse = _originals.pop("traverse")
