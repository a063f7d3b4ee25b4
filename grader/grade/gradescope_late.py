"""A late penalty on Gradescope: the policy goes into the bundle, and each run reads when the
work was handed in and when it was due from Gradescope's submission_metadata.json (a student's
own extension, `users[].assignment.due_date`, before the assignment's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.grade.adjustments import Adjustment, AdjustmentError, parse_due, parse_late_policy
from grader.grade.lms import Identity

POLICY = "late-policy.json"  # in the bundle's persistlab/ folder
METADATA = "submission_metadata.json"  # Gradescope writes it into /autograder


def policy_text(penalty: str, cap: str | None = None) -> str:
    """The bundle's late-policy.json, checked now (with a due date standing in) so that a policy
    that cannot be applied is refused when the bundle is built, not on each run."""
    parse_late_policy(penalty, "2000-01-01", cap)
    return json.dumps({"penalty": penalty, "cap": cap}) + "\n"


def _due(metadata: dict[str, Any]) -> str | None:
    dates = [user.get("assignment", {}).get("due_date") for user in metadata.get("users") or []]
    own = [d for d in dates if d]
    return max(own) if own else metadata.get("assignment", {}).get("due_date")


def late_adjustment(root: Path, source: Path) -> Adjustment | None:
    """The late penalty for the submission in `root` (/autograder) under the bundle's policy in
    `source` (/autograder/source/persistlab); None without a policy, or when on time."""
    policy_file = source / POLICY
    if not policy_file.is_file():
        return None
    policy = json.loads(policy_file.read_text(encoding="utf-8"))
    try:
        metadata = json.loads((root / METADATA).read_text(encoding="utf-8"))
        due, created = _due(metadata), metadata["created_at"]
    except (OSError, ValueError, KeyError) as exc:
        raise AdjustmentError(f"the late policy needs {METADATA}, which could not be read ({exc})") from None
    if not due:
        return None  # an assignment with no due date is never late
    late = parse_late_policy(policy["penalty"], due, policy.get("cap"))
    return late.adjustment(Identity("", submitted=parse_due(created)))


__all__ = ["METADATA", "POLICY", "late_adjustment", "policy_text"]
