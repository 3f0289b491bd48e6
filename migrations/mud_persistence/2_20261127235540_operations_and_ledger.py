"""Applied operations (idempotency keys) and the item movement ledger, plus their rules."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "applied_operations" (
    "op_id" VARCHAR(128) NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "request" JSONB NOT NULL,
    "result" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_applied_ope_created_9720d8" ON "applied_operations" ("created_at");
COMMENT ON TABLE "applied_operations" IS 'An operation that carried an ``op_id`` and committed, with its outcome.';
        CREATE TABLE IF NOT EXISTS "item_movements" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "item_instance_id" VARCHAR(64) NOT NULL,
    "from_owner_type" VARCHAR(16) NOT NULL,
    "from_owner_id" VARCHAR(255) NOT NULL,
    "to_owner_type" VARCHAR(16) NOT NULL,
    "to_owner_id" VARCHAR(255) NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "op_id" VARCHAR(128),
    "moved_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_item_moveme_item_in_442b9e" ON "item_movements" ("item_instance_id");
COMMENT ON TABLE "item_movements" IS 'One move of one item, appended in the transaction that moved it (an audit ledger).';
-- Hand-written (models/schema.py lists them): checks and defaults Tortoise cannot declare.
ALTER TABLE "item_instances" ADD CONSTRAINT "item_instances_position_nonnegative" CHECK (position IS NULL OR position >= 0);
ALTER TABLE "item_movements" ADD CONSTRAINT "item_movements_owner_types_valid" CHECK (from_owner_type IN ('room', 'player', 'container') AND to_owner_type IN ('room', 'player', 'container'));
ALTER TABLE "applied_operations" ALTER COLUMN "request" SET DEFAULT '{}'::jsonb;
ALTER TABLE "applied_operations" ALTER COLUMN "result" SET DEFAULT '{}'::jsonb;
ALTER TABLE "applied_operations" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "item_movements" ALTER COLUMN "moved_at" SET DEFAULT now();"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "item_movements";
        DROP TABLE IF EXISTS "applied_operations";
ALTER TABLE "item_instances" DROP CONSTRAINT IF EXISTS "item_instances_position_nonnegative";"""


MODELS_STATE = (
"eJztXW1z2zYS/isYfakzo6iKYju5tNcZO3FbXxM756jXTusOBZGQhDMJqARoWdfL/fbbBU"
    "WK4osi2pQsc/ihqQxiAfBZENx9dgH+1fICx5oyX3GlmbBZ52Q6dTlzLqGMai5F6w35qyWo"
    "x+DHlyu3SYtOpzlV8YqmQ9c0Q0MxS0ZyyggOlfapraHGiLqKQZHDlO3z6WIcrRNBYhGiJ1"
    "QTm/o+tESoIIOBnFrcGQzgD4fY0vO41sxpkxnXE8K1IjLQUMw62JkjbeiNi3GF7V6La/GL"
    "j1cF4dgQIwqAI3BXQsGNYetUmfK4u68UYaMRs3WbKEko8dmUQf9ytKgGPV+LEReOgq7MCH"
    "ymA18oGJfPVOBqGBgXADJ1UAqhncNtGfGwZULHlAtz14HgfwbM0nLM4LoP9/77H1AMzbM7"
    "pqI/pzfWiDPXWVG9GQq2YS5Zej41xW8n1P/eVEZQh5Yt3cATKwLTuZ5IEUsA7Fg6ZgIhYE"
    "5C3SJw3cUciYrCEUOB9gMWD9VZFjhsRAEFKEDpcBDLspZlXVz2rU9nfctqZSZUJJGYC4si"
    "G+YkqI0LrQwKHr2zXCbGegJ/vui9/hx2tMQirIY9/uvk6u2PJ1cHUOsZdilhTofT/mJxqR"
    "de+2waoZqGzRj4l3jfwJ2WgTuqXw3aUcES7uUjuXO8X/Y2gPtlrxBtvIRgL8H1Gdym0ll8"
    "//Hp8iIf34RICmKHwzP2X+Ly8Oo2oG59OwpEuIAMA+5qeOA72O13rS0pYA3gCBG27Cn1p5"
    "sE+uDDya9pHbx9f3lqIJNKj33TimngNKMQXMrK6SOSaNRRuTpsnyFkFs1RyTu4ornH8tWy"
    "KplWzUK0E/2oRkE7fRPA/TmXwp0v+l2jmf75h7NP/ZMPH1fU8+6kf4ZXeqZ0nio9OE6pLG"
    "6E/HLe/5Hgn+S3y4uztBbjev3fWjgmGmhpCTmzqJOAKCqNYPyMr/vRTeIFhAVDat/MqO9Y"
    "mSuyJ4vqZi95PS9dQgUdG5UhuDjMtEH5VgoNWBvTpNjsXNbazN60o/qb2pkkliC+nHXIuU"
    "bzi3mKUJ+B5YW/LbS6KHSlwAKDWmAHzgSYjMM5VDi4XnZ6DZ1y59lgkGN4bqkjtETPxC33"
    "pfCY0AvL1Z8qtuxQEWzVQUsVzE4pPXIAJiX83xi7z74h8MLjUyOekBkyV4rxtdASbWO4yP"
    "UcBcNfoSiYxhNuT4hH51Af6118fGvsWx5Z1ooISUbSZ3wsyA2bP9Q6jUeYa6T+/PP5u4Ll"
    "KiWXWrCCgDsdlN6OxZp4j5ie8J/Dx3iJhBZUuPYkVxVz6+vtVCUD32YhYiXM1ZTYtqzWR3"
    "QSjjfxEdLLfcJFOE4brfjUl53fSZkHzO0FjHsC9EMmcsLkDJe6MpM2IXKvCbtfMK7O197R"
    "0QYTFmoVzlhzbRXj+K1QZs6uCDWTdgVQV9o3Fry3danFdlVqdwwB1MaumbOtV9q2l1ybTq"
    "mNk1G5Uqss5OdCF9gVGcEU6nAH20K9190W2mMcwvPei8NXh69fHh++hipmmHHJqzUKOL/o"
    "p9CdgfU30ZbLPZ7jZxZimxa7F7JfXhx2S3hVDK3DbDq/h/uelKvAeX8yS/A++eoRSBlnPa"
    "lg6rpyxhzLly7LWZiKebOM4H7QZ9hfbegzj2mKDlMZvSRl9kMlDaP5aIzmbt899aI0k1oP"
    "ps49tb4q2Wh9X7Se83I0o983IvtcM+98wdu21nHZKxXbG9HZq6TwZpT2pWCGWO6QXybMx9"
    "+Eqzb8hxxyyBKh0tskYoyeDQbEZENAFV/ODIUMeBthBl1kyezqu0Aaux+2ZQhjLm6Z0NKf"
    "E1ziUXbq0jnS0qFogk3HX1BXEYPaG0IXVb9Sy1auBQ+zMeCB9JFMXw6S/J18tRAgJxfv4i"
    "FD+bdhOeHOd4NBmLUhzH0TmwohNVLeHAauZxL7BA0RTOhAXcddmHSSiYQZFXHv3GnHYzRk"
    "MJE+FCxvyJRh9gi70xuy5b+3ljdkHsaIDPyjkEdfmVol2bE82drlfhwfbsAxHB8Wcgx4aT"
    "2hPvWllthuSfjTcjWk1HvdjfJuumvybrr5rHrZ8MWqVA1zbnYZvvgSzNudz48I8lY4dzCm"
    "eJSLuSGjlhRp2LQsm+ZK2yRrWsaquMtxJtZy7xnZLQWP6jaT/wyoCQWVmMlJkd0x7i+eyD"
    "yG5p2ya8OKTLM4ZEEduXSsLHnLfJ87OUZEMeWXldwP4q9WXOwQ7h7GUz5omhGs36pdfWI1"
    "1ToQDJPGigBfE5nIkd2PB6JeTHigtPQs82eJxyElVr+HYSsmTBMJ2rv5L30+5sIKExBLOa"
    "Npwfo9A1WxWxm07/Mc5Ig2j0MTGG1CZE1gtNH6kw6MfgCfF+381pcCo3HF9uaBUW8hUyIw"
    "iiK4eVouIpht3EbNYPo50T7u5BZus0EcRRwMcR5QQWjgwC+XOWPmP8sPjFbfxQN2y+SR8K"
    "d8XMgB5RLwOeTPYuXZ31BeSP38rdd7+fJVr/vy+PXR4atXR6+7MQeUvbSODDo9/wH5oJXH"
    "OSKIigN8+xlj3adAX/Vm6MgH3/V+ob4c0RqGoqqP9yVwKzfHM4I1hHsrZAO8+O83xTOCNU"
    "S8+gkeo1ZueqfEagj1ViY3WOUqL3C1ZrdeLFFDjKun7nd8wM9e82AVnvCTcHDQnr+Hx52U"
    "a/ztffG3n8qJGh9NSmlrnae9qNLeyMdeZNxu5lyfRBmtNqwiUJP5eWdgZOpg3u9ggEFAPP"
    "KCY5KsoS4JCAbmRAqcF+YEjDe2S5V6M/ifJx3mqo4RWtzRJ9NAh/zIqKsnbfLrR8wTvkbv"
    "SROoranCTsXY5CpTLT1uU9edo0f+6Z/vv4FuFQW3feaD26XAdYdLM/TM0V3HmuGgQd4hig"
    "NQ18Ic2jb8N566NoPWXUnRwz9QDA/zwNv+2mE2V3jk3dfdbrf3HDt4HgLw3OG+nj8PFdzx"
    "8CSNDulL4tEbZhiBawHzU3FQBGG3mLEcOYIhNU3QcIYxo+M5pIqZnGqfecwbYoo0Du2Wug"
    "EzJ8klRofn2D2UUQjvoORG7xWh5uSNsidvBKo04gmRKvHe222dJXbWl42HPygQvnfv4BXr"
    "52iTNOuj4izro0yStR34PuZ13OPMjRzR+hFeW/KY1JTOxH1AzxGtn5G/FdCN/VEmyh0LpA"
    "Ausmd2EOgu6ro2MW92B9YtR9PWmkouSp3skSu7u1Tjp3K2hwsWqlsC1rh+k7WdhpIrcDk9"
    "nsN9nUrpMioKQkUJsRSoQ5DbFqpxyW7XidPLy/cr68TpeSowd/Hzh9Ozq4MXZtGASuDT5e"
    "PdZMQUT+16cTUrCxZV2sLw+22OG7Be7SnRRu9PSe9TX46YQkYm10Yu3jOXlmv2xoRLaYYA"
    "zcM6C/T34WGwP7G5wTt5JELaMk7TlyutPi3AP0fTKipdDtGns5hoy842+AFGOgvfYVfwEF"
    "ydvwX0H5tsXqpiLeG8orFNSOdYYHPiORYhBzGzTAxb/Gz56Q5DBePR/twPk8bMSRLhdzNU"
    "LlddUbMVZ289OHWrGlp1z5em9ho29XH5vz064aJ69i85rAzCfXZXMHVTYjs8tvQReI7+2a"
    "/99TxHbDW9v7z4IaqeJj8yW1NvpW/lb1kvBj4l1gBfGnhc/63k+l+WEcwINztfKmcBPYbB"
    "Wwz5Wos3cxkt5Us3aqpcTchj3VIegpRR0BcpsKTo1miwzNs6KnhSJFiJ1JV05D/n0TldCH"
    "7/0xVzacFbvDgVpR5+3OeduF1XUnqtdQ6XqdDeyNXCkN/GThZW7pBzJ/xczYSDxnx7gosi"
    "CQEDVyiwJ3hu3WDAqK8nFvVvJtQLz0aH9VNTnwdeGGgcSUwH6XZf5H8qZ3udhflG7I6bfC"
    "OPTjHjyIHX72I3jjTJM4tz+ojZh0NhGFp2SDhhFx/YWX7Kx9RU5mM382ux+q2bsD0eH00Y"
    "ZfE4Rk4RGIfS4RagGZ59KDDZxyQh4Ycl8TjEh3qQj/Dpi332eCoMBO+rf/nYvOL2A++Nk/"
    "lIvg4YAKLUzI4Faji1q9+59h9ZDt2ofgPuBuCqYGiVBTgp04C8AcjGrirjWscCjTdduTdN"
    "NYxnGOiSHw1ZkWrUUola9m2nyAnzuT1prfMjF1XaG3mSdFn5S65ksV72LU72RI442FqY7B"
    "aVXW4fZkKkhu/LrTgz+HSVQHhRvYbovuhudOR7d82R793sboTw2xBlXoAJkd2//R5n70w9"
    "3nOf/w9CxpG6"
)
