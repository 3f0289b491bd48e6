"""Health and Experience: atomic, clamped, whitelisted, batched; saves never undo them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from persistence.errors import (
    ConfigurationError,
    InvalidAmountError,
    InvalidFieldError,
    NotFoundError,
    StaleDataError,
)
from persistence.events import PlayerHPUpdated, PlayerLeveledUp, PlayerStatUpdated, PlayerXPAwarded
from persistence.facade import AsyncPersistenceLayer
from persistence.models.stats import NUMERIC_STATS, STAT_REGISTRY
from persistence.schema import run_migrations
from tests.conftest import RecordingBus, connect, create_database, drop_database, make_settings
from tests.factories import HALLWAY, new_player
from tests.integration.test_player_repository import count_queries

pytestmark = pytest.mark.integration


async def saved(layer: AsyncPersistenceLayer, **fields: Any) -> Any:
    player = new_player(**fields)
    await layer.players.save_player(player)
    return await layer.players.require_player(player.player_id)


async def stats_of(conn: asyncpg.Connection, player_id: uuid.UUID) -> dict[str, Any]:
    raw = await conn.fetchval("SELECT stats::text FROM players WHERE player_id = $1", player_id)
    return dict(json.loads(raw))


async def snapshot(conn: asyncpg.Connection) -> list[Any]:
    return list(await conn.fetch("SELECT * FROM players ORDER BY player_id"))


class TestHealth:
    async def test_update_returns_the_clamped_value_from_the_database(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        player = await saved(layer)
        pid = player.player_id
        assert await layer.health.update_player_health(pid, -30, "trap") == 70
        assert await layer.health.update_player_health(pid, +500, "potion") == 100
        assert await layer.health.update_player_health(str(pid), -500) == 0
        events = bus.of(PlayerHPUpdated)
        assert [(e.old_hp, e.new_hp, e.max_hp, e.delta, e.reason) for e in events] == [
            (100, 70, 100, -30, "trap"),
            (70, 100, 100, 500, "potion"),
            (100, 0, 100, -500, ""),
        ]

    async def test_clamp_uses_the_players_own_max_health(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player()
        player.stats.max_health = 180
        player.stats.current_health = 180
        await layer.players.save_player(player)
        assert await layer.health.update_player_health(player.player_id, -100) == 80
        assert await layer.health.update_player_health(player.player_id, +1000) == 180
        assert (await stats_of(clean_db, player.player_id))["current_health"] == 180

    async def test_health_floor_from_settings(self, pg_server: str) -> None:
        url = await create_database(pg_server, "mud_floor")
        try:
            settings = make_settings(url, health_floor=-10)
            with pytest.raises(ConfigurationError, match="MUD_HEALTH_FLOOR=-10"):
                await run_migrations(url)  # the database's floor is 0
                await AsyncPersistenceLayer(settings).start()
            await run_migrations(url, settings)  # sets the database's floor to -10
            async with AsyncPersistenceLayer(settings) as layer:
                player = await saved(layer)
                assert await layer.health.update_player_health(player.player_id, -105) == -5
                assert await layer.health.update_player_health(player.player_id, -105) == -10
            conn = await connect(url)
            try:
                with pytest.raises(asyncpg.CheckViolationError):  # the database keeps it too
                    await conn.execute(
                        "UPDATE players SET stats = jsonb_set(stats, '{current_health}', '-11')"
                    )
            finally:
                await conn.close()
        finally:
            await drop_database(pg_server, url)

    async def test_unknown_player_is_not_found(self, layer: AsyncPersistenceLayer) -> None:
        with pytest.raises(NotFoundError):
            await layer.health.update_player_health(uuid.uuid4(), -1)

    async def test_damage_and_heal_refresh_the_object_from_the_database(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = await saved(layer)
        # Elsewhere, HP dropped to 50; the object still believes 100.
        await clean_db.execute(
            "UPDATE players SET stats = jsonb_set(stats, '{current_health}', '50') "
            "WHERE player_id = $1",
            player.player_id,
        )
        assert await layer.health.damage_player(player, 10, "fire") == 40
        assert player.stats.current_health == 40
        assert await layer.health.heal_player(player, 5) == 45
        assert player.stats.current_health == 45
        assert await layer.damage_player(player, 1) == 44  # the design's facade call

    @pytest.mark.parametrize("amount", [-1, -100, 1.5, True, "10", None, 10**12])
    async def test_bad_amounts_are_refused_before_sql(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
        amount: Any,
    ) -> None:
        player = await saved(layer)
        before = await snapshot(clean_db)
        sent = count_queries(layer, monkeypatch)
        for call in (layer.health.damage_player, layer.health.heal_player):
            with pytest.raises(InvalidAmountError) as info:
                await call(player, amount)
            assert isinstance(info.value, ValueError)
        with pytest.raises(InvalidAmountError):
            await layer.experience.gain_experience(player, amount)
        assert sent == []
        assert await snapshot(clean_db) == before

    async def test_batch_of_one_thousand_is_one_statement(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        players = [new_player() for _ in range(1000)]
        await layer.players.save_players(players)
        deltas = {p.player_id: -(i % 150) for i, p in enumerate(players)}
        sent = count_queries(layer, monkeypatch)
        result = await layer.health.apply_health_deltas(deltas, "fireball")
        assert len(sent) == 1
        assert result == {pid: max(0, 100 + d) for pid, d in deltas.items()}
        rows = await clean_db.fetch(
            "SELECT player_id, (stats->>'current_health')::int AS hp FROM players"
        )
        assert {r["player_id"]: r["hp"] for r in rows} == result

    async def test_batch_with_a_missing_player_applies_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = await saved(layer)
        missing = uuid.uuid4()
        with pytest.raises(NotFoundError, match=str(missing)):
            await layer.health.apply_health_deltas({player.player_id: -10, missing: -10})
        assert (await stats_of(clean_db, player.player_id))["current_health"] == 100
        assert await layer.health.apply_health_deltas({}) == {}


class TestExperience:
    async def test_xp_and_level_in_one_statement(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        player = await saved(layer)
        change = await layer.experience.update_player_xp(player.player_id, 250, "quest")
        assert (change.old_xp, change.new_xp, change.old_level, change.new_level) == (0, 250, 1, 3)
        award = await layer.experience.gain_experience(player, 60, "combat_victory")
        assert (award.new_xp, award.new_level) == (310, 4)
        assert (player.experience_points, player.level) == (310, 4)
        assert [(e.xp_amount, e.old_xp, e.new_xp, e.source) for e in bus.of(PlayerXPAwarded)] == [
            (250, 0, 250, "quest"),
            (60, 250, 310, "combat_victory"),
        ]
        assert [(e.old_level, e.new_level) for e in bus.of(PlayerLeveledUp)] == [(1, 3), (3, 4)]
        small = await layer.experience.update_player_xp(player.player_id, 1)
        assert not small.leveled_up
        assert len(bus.of(PlayerLeveledUp)) == 2

    async def test_configurable_level_curve(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        settings = make_settings(database_url, level_thresholds=(10, 50, 1000))
        async with AsyncPersistenceLayer(settings) as layer:
            player = await saved(layer)
            levels = []
            for delta in (9, 1, 39, 1, 5000):
                levels.append((await layer.update_player_xp(player.player_id, delta)).new_level)
            assert levels == [1, 2, 2, 3, 4]
        async with AsyncPersistenceLayer(make_settings(database_url, xp_per_level=1000)) as layer:
            assert (await layer.update_player_xp(player.player_id, 0)).new_level == 6

    async def test_negative_xp_is_refused(self, layer: AsyncPersistenceLayer) -> None:
        player = await saved(layer)
        with pytest.raises(InvalidAmountError):
            await layer.experience.update_player_xp(player.player_id, -5)

    @pytest.mark.parametrize("field", sorted(NUMERIC_STATS))
    async def test_every_whitelisted_stat_is_clamped_to_its_bounds(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, field: str
    ) -> None:
        player = await saved(layer)
        spec = STAT_REGISTRY[field]
        high = await layer.experience.update_player_stat_field(player.player_id, field, 10**9)
        for _ in range(2):  # max_health has no upper bound: it went up by 10**9 above
            low = await layer.experience.update_player_stat_field(player.player_id, field, -(10**9))
        stored = await stats_of(clean_db, player.player_id)
        expected_high = spec.maximum if isinstance(spec.maximum, int) else None
        if field == "current_health":
            expected_high = stored["max_health"]
        if expected_high is not None:
            assert high == expected_high
        else:
            assert high == spec.default + 10**9
        expected_low = spec.minimum if spec.minimum is not None else 0  # floor for health
        assert low == expected_low
        assert stored[field] == low
        assert stored["current_health"] <= stored["max_health"]

    async def test_lowering_max_health_pulls_current_health_down(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = await saved(layer)
        assert (
            await layer.experience.update_player_stat_field(player.player_id, "max_health", -40)
            == 60
        )
        stored = await stats_of(clean_db, player.player_id)
        assert (stored["max_health"], stored["current_health"]) == (60, 60)

    @pytest.mark.parametrize(
        "name",
        [
            "position",
            "STRENGTH",
            "strength ",
            "strength'; DROP TABLE players; --",
            "{current_health}",
            "stats",
            "",
            "max_health,current_health",
            "__class__",
            None,
            42,
            ["strength"],
        ],
    )
    async def test_bad_field_names_are_refused_before_sql(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
        name: Any,
    ) -> None:
        player = await saved(layer)
        before = await snapshot(clean_db)
        sent = count_queries(layer, monkeypatch)
        with pytest.raises(InvalidFieldError) as info:
            await layer.experience.update_player_stat_field(player.player_id, name, 1)
        assert isinstance(info.value, ValueError)
        with pytest.raises(InvalidFieldError):
            await layer.experience.apply_stat_deltas(name, {player.player_id: 1})
        assert sent == []
        assert await snapshot(clean_db) == before

    async def test_stat_events_and_batch(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        a, b = await saved(layer), await saved(layer)
        assert await layer.apply_fear(a, 30, "shoggoth") == 30
        result = await layer.experience.apply_stat_deltas("fear", {a.player_id: 80, b.player_id: 5})
        assert result == {a.player_id: 100, b.player_id: 5}
        assert await layer.apply_lucidity_loss(a, 15, "tome") == 85
        events = [(e.field, e.old_value, e.new_value) for e in bus.of(PlayerStatUpdated)]
        assert events[0] == ("fear", 0, 30)
        assert sorted(events[1:3]) == [("fear", 0, 5), ("fear", 30, 100)]
        assert events[3] == ("lucidity", 100, 85)


class TestSaveNeverUndoesAtomicUpdates:
    async def test_a_save_of_other_fields_keeps_a_concurrent_hp_change(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        player = await saved(layer)
        async with AsyncPersistenceLayer(make_settings(database_url)) as elsewhere:
            assert await elsewhere.health.update_player_health(player.player_id, -30) == 70
        player.current_room_id = HALLWAY
        await layer.players.save_player(player)
        row = await clean_db.fetchrow(
            "SELECT current_room_id, (stats->>'current_health')::int AS hp FROM players"
        )
        assert (row["current_room_id"], row["hp"]) == (HALLWAY, 70)

    async def test_the_designs_own_example_keeps_the_damage(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        attacker, target = await saved(layer), await saved(layer)
        await layer.health.damage_player(target, 25, "combat")
        await layer.experience.gain_experience(attacker, 50, "combat_victory")
        await layer.players.save_player(target)
        await layer.players.save_player(attacker)
        assert (await stats_of(clean_db, target.player_id))["current_health"] == 75
        assert (
            await clean_db.fetchval(
                "SELECT experience_points FROM players WHERE player_id = $1", attacker.player_id
            )
            == 50
        )

    async def test_changing_the_same_field_is_a_conflict_and_writes_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = await saved(layer)
        await layer.health.update_player_health(player.player_id, -30)  # elsewhere
        before = await snapshot(clean_db)
        player.stats.current_health = 90  # the caller's own change of the same field
        player.current_room_id = HALLWAY
        with pytest.raises(StaleDataError) as info:
            await layer.players.save_player(player)
        assert "stats.current_health" in info.value.fields
        assert await snapshot(clean_db) == before
        await layer.players.save_player(player, overwrite=True)
        row = await clean_db.fetchrow(
            "SELECT current_room_id, (stats->>'current_health')::int AS hp FROM players"
        )
        assert (row["current_room_id"], row["hp"]) == (HALLWAY, 90)

    async def test_two_stale_copies_of_one_column(self, layer: AsyncPersistenceLayer) -> None:
        player = await saved(layer)
        first = await layer.players.require_player(player.player_id)
        second = await layer.players.require_player(player.player_id)
        first.current_room_id = HALLWAY
        await layer.players.save_player(first)
        second.current_room_id = "earth_arkhamcity_sanitarium_room_ward_001"
        with pytest.raises(StaleDataError):
            await layer.players.save_player(second)

    async def test_batch_save_with_one_stale_player_writes_none(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        a, b = await saved(layer), await saved(layer)
        await layer.experience.update_player_stat_field(b.player_id, "fear", 10)
        before = await snapshot(clean_db)
        a.current_room_id = HALLWAY
        b.stats.fear = 50
        with pytest.raises(StaleDataError):
            await layer.players.save_players([a, b])
        assert await snapshot(clean_db) == before


class TestEventsFollowTheCommit:
    async def test_hp_events_wait_for_commit_and_vanish_on_rollback(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus, clean_db: asyncpg.Connection
    ) -> None:
        player = await saved(layer)
        async with layer.transaction():
            await layer.health.update_player_health(player.player_id, -10)
            await layer.experience.update_player_xp(player.player_id, 100)
            assert bus.of(PlayerHPUpdated) == []
        assert len(bus.of(PlayerHPUpdated)) == 1
        assert len(bus.of(PlayerLeveledUp)) == 1

        class Abort(Exception):
            pass

        with pytest.raises(Abort):
            async with layer.transaction():
                await layer.health.update_player_health(player.player_id, -10)
                player.current_room_id = HALLWAY
                await layer.players.save_player(player)
                raise Abort
        assert len(bus.of(PlayerHPUpdated)) == 1
        stored = await stats_of(clean_db, player.player_id)
        assert stored["current_health"] == 90
