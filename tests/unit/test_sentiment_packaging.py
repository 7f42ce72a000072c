"""The sentiment scorer's data ships in every function's zip, and the zip alone can classify."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import pytest

from feedbackctl.functions import FUNCTIONS, function
from feedbackctl.packaging import PROJECT_ROOT, build_zip

DATA_FILES = (
    "lambdas/common/sentiment.py",
    "lambdas/common/sentiment_feedback.py",
    "lambdas/common/sentiment_lexicon.txt",
    "lambdas/common/sentiment_feedback_lexicon.txt",
    "lambdas/common/sentiment_feedback_rules.txt",
    "lambdas/common/sentiment_complaints.py",
    "lambdas/common/sentiment_complaints.txt",
    "lambdas/common/sentiment_times.py",
)


@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_every_zip_carries_the_scorer_and_its_data(name):
    names = set(zipfile.ZipFile(io.BytesIO(build_zip(function(name), PROJECT_ROOT))).namelist())

    assert set(DATA_FILES) <= names


def test_the_unpacked_zip_classifies_from_its_own_files(tmp_path):
    data = build_zip(function("create-feedback"), PROJECT_ROOT)
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from lambdas.common import sentiment\n"
        "print(sentiment.__file__.startswith(sys.path[0]))\n"
        "print(sentiment.classify('The app crashes constantly.'))\n"
        "print(sentiment.classify('Please add an export to PDF'))\n"
        "print(sentiment.classify('My invoices still show last month after the update.'))\n"
        "print(sentiment.classify('The weekly report takes 5 minutes instead of an hour.'))\n"
    )
    out = subprocess.run(  # -S: no site-packages, so nothing outside the zip can answer
        [sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )

    assert out.stdout.split() == ["True", "negative", "neutral", "negative", "positive"]
