"""CloudFront verbs: invalidate paths of a distribution.

Over an injected `cloudfront` client.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def invalidate(client: Any, distribution_id: str, paths: Sequence[str], now: datetime) -> str:
    """Start an invalidation of `paths`; its id. The caller reference is unique per call, so a
    retry of the same publish is a new invalidation, never a silent no-op."""
    reference = f"feedbackctl-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
    answer = client.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": list(paths)},
            "CallerReference": reference,
        },
    )
    return str(answer["Invalidation"]["Id"])
