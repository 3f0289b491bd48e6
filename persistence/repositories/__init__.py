"""The repositories, one module per aggregate."""

from persistence.repositories.container import ContainerRepository
from persistence.repositories.experience import ExperienceChange, ExperienceRepository
from persistence.repositories.health import HealthRepository
from persistence.repositories.item import ItemRepository, ItemSpec, Owner, TransferResult
from persistence.repositories.player import PlayerRepository
from persistence.repositories.profession import ProfessionRepository
from persistence.repositories.room import RoomRepository

__all__ = [
    "ContainerRepository",
    "ExperienceChange",
    "ExperienceRepository",
    "HealthRepository",
    "ItemRepository",
    "ItemSpec",
    "Owner",
    "PlayerRepository",
    "ProfessionRepository",
    "RoomRepository",
    "TransferResult",
]
