"""A game's own Tortoise app, for tests of the layer inside a game's Tortoise setup."""
