"""The repositories, one module per aggregate."""

from persistence.repositories.player import PlayerRepository
from persistence.repositories.profession import ProfessionRepository
from persistence.repositories.room import RoomRepository

__all__ = ["PlayerRepository", "ProfessionRepository", "RoomRepository"]
