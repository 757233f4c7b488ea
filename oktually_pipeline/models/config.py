"""Run configuration of the model assets: the thresholds the SQL binds."""

# No `from __future__ import annotations` here: Dagster reads the Config annotations.

from typing import Any, Optional

import dagster as dg

DEFAULT_DORMANT_DAYS = 90
DEFAULT_ADMIN_CHANGES_DAYS = 90


class ModelConfig(dg.Config):
    """Thresholds bound into the model SQL.

    `dormant_days`: an active user with no sign-in for this many days is dormant.
    `admin_changes_days`: how far back `recent_admin_changes` reaches.
    `as_of`: the reference time (ISO 8601); the database's now() when unset.
    """

    dormant_days: int = DEFAULT_DORMANT_DAYS
    admin_changes_days: int = DEFAULT_ADMIN_CHANGES_DAYS
    as_of: Optional[str] = None

    def params(self) -> dict[str, Any]:
        return {
            "dormant_days": self.dormant_days,
            "admin_changes_days": self.admin_changes_days,
            "as_of": self.as_of,
        }
