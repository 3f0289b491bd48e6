"""The Tortoise app the package's models form, and the label it is registered under."""

from __future__ import annotations

from typing import Final

__all__ = ["APP_LABEL", "MODELS_MODULE"]

APP_LABEL: Final = "mud_persistence"
"""Tortoise app label of the package's models.

Not ``"models"``: that is the label Tortoise's documentation gives a project's own app, so a
game registering both would collide. Relations between the package's models name it
(``f"{APP_LABEL}.Profession"``), and aerich records migrations under it.
"""

MODELS_MODULE: Final = __name__.rpartition(".")[0]
"""The module Tortoise discovers the package's models in (this package)."""
