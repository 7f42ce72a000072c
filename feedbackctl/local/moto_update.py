"""Three of moto's costs in applying an UpdateExpression, which change no answer, removed.

moto 5.2 parses an UpdateExpression up to three times a request (the request handler twice, the
model once) and validates it before applying it. The stream aggregator's update of the global
analytics item is long (a SET action per counter), and every batch's TransactWriteItems holds
the journal's lock (every table write waits) for its whole length; cProfile of the transaction
under the load benchmark's 16 clients showed most of it in these two steps:

- **The clause check.** moto's first validation step (`ActionCountValidator`) runs at every node
  of the tree and, at each, collects the node's SET, REMOVE and ADD clauses by walking its whole
  subtree again: the square of the expression's size. `install()` gives it one pass: every
  node's clause counts are computed once, from its children's, and the nodes are checked in
  moto's order (children first), raising moto's own TooManyClauses for the first node moto
  would refuse. The check changes nothing in the tree.
- **The parse.** The tree depends only on the expression's text, and every user of it either
  reads it or validates a deep copy of it (`Validator.__init__`), so the trees of the latest
  `PARSED_KEPT` texts are kept (`functools.lru_cache`) and shared. A text that does not parse
  raises, and nothing is kept for it.
- **The deep copy.** That copy went through `copy.deepcopy`'s general protocol for every node
  (`__reduce_ex__`, then a rebuilt instance and a copied `__dict__`): with the aggregator's long
  update, the largest part of the transaction's validation. The validators' `deepcopy` copies
  moto's syntax-tree nodes, lists and dicts directly now, each exactly as `copy.deepcopy` would
  (a node's class and every attribute, `parent` links to the copied parents through the same
  memo), and hands anything else to `copy.deepcopy` with that memo.

`tests/functional/test_moto_update.py` compares answers, refusals included, with moto's own.
`uninstall()` puts moto's code back.
"""

from __future__ import annotations

import copy
import functools
import importlib
import threading
from typing import Any

__all__ = ["install", "uninstall"]

_lock = threading.Lock()
_originals: dict[str, Any] = {}
PARSED_KEPT = 256


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


_PLAIN = frozenset({str, int, float, bool, type(None), bytes})  # deepcopy returns these as they are


def _tree_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """copy.deepcopy of a syntax tree (the module's text): the same copy, made directly."""
    if memo is None:
        memo = {}
    kind: Any = type(value)
    if kind in _PLAIN:
        return value
    found = memo.get(id(value), memo)
    if found is not memo:
        return found
    if kind is list:
        copied: Any = []
        memo[id(value)] = copied
        copied.extend([_tree_copy(item, memo) for item in value])
    elif kind is dict:
        copied = {}
        memo[id(value)] = copied
        for key, item in value.items():
            copied[_tree_copy(key, memo)] = _tree_copy(item, memo)
    elif isinstance(value, _node_type()) and _plain_node(kind):
        copied = kind.__new__(kind)
        memo[id(value)] = copied
        copied.__dict__.update({k: _tree_copy(v, memo) for k, v in value.__dict__.items()})
    else:
        return copy.deepcopy(value, memo)
    _keep(memo, value)
    return copied


def _keep(memo: dict[int, Any], value: Any) -> None:
    """What copy.deepcopy keeps alive in its memo while the copy is made (its `_keep_alive`)."""
    memo.setdefault(id(memo), []).append(value)


@functools.cache
def _node_type() -> type:
    nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    return nodes.Node  # type: ignore[no-any-return]


@functools.cache
def _plain_node(kind: Any) -> bool:
    """A node class copy.deepcopy copies by its `__dict__` alone: no copy or pickle hooks, no
    slots."""
    if hasattr(kind, "__deepcopy__") or hasattr(kind, "__slots__"):
        return False
    pickling = ("__reduce_ex__", "__reduce__", "__getstate__", "__setstate__")
    return all(getattr(kind, hook, None) is getattr(object, hook, None) for hook in pickling)


def _validators() -> Any:
    return importlib.import_module("moto.dynamodb.parsing.validators")


def _parser() -> Any:
    expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    return expressions.UpdateExpressionParser


def install() -> None:
    with _lock:
        if _originals:
            return
        from moto.dynamodb.parsing.validators import ActionCountValidator

        validators = _validators()
        parser = _parser()
        _originals["traverse"] = ActionCountValidator.traverse
        ActionCountValidator.traverse = _checked
        _originals["deepcopy"] = validators.deepcopy
        validators.deepcopy = _tree_copy
        _originals["make"] = parser.__dict__["make"]  # the classmethod itself
        parser.make = staticmethod(functools.lru_cache(maxsize=PARSED_KEPT)(parser.make))


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        from moto.dynamodb.parsing.validators import ActionCountValidator

        ActionCountValidator.traverse = _originals.pop("traverse")
        _validators().deepcopy = _originals.pop("deepcopy")
        _parser().make = _originals.pop("make")
