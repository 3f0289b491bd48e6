"""The game's own Tortoise models: a top-level ``models`` package next to ``persistence``."""

from models.guild import Guild

__all__ = ["Guild"]
