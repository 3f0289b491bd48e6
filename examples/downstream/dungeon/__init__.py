"""A tiny game built on mud-persistence (an example downstream project)."""
