from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "containers" (
    "container_id" UUID NOT NULL PRIMARY KEY,
    "source_type" VARCHAR(16) NOT NULL,
    "owner_id" UUID,
    "room_id" VARCHAR(255),
    "entity_id" UUID,
    "lock_state" VARCHAR(16) NOT NULL,
    "capacity_slots" INT NOT NULL,
    "weight_limit" INT,
    "decay_at" TIMESTAMPTZ,
    "allowed_roles" JSONB NOT NULL,
    "metadata" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_containers_source__6fc5f9" ON "containers" ("source_type");
CREATE INDEX IF NOT EXISTS "idx_containers_owner_i_a3e076" ON "containers" ("owner_id");
CREATE INDEX IF NOT EXISTS "idx_containers_room_id_198eb9" ON "containers" ("room_id");
CREATE INDEX IF NOT EXISTS "idx_containers_entity__23576e" ON "containers" ("entity_id");
CREATE INDEX IF NOT EXISTS "idx_containers_decay_a_08e5a9" ON "containers" ("decay_at");
COMMENT ON TABLE "containers" IS 'A container row. Its items are ``item_instances`` rows owned by ``(\"container\", id)``.';
CREATE TABLE IF NOT EXISTS "item_instances" (
    "item_instance_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "prototype_id" VARCHAR(120) NOT NULL,
    "owner_type" VARCHAR(16) NOT NULL,
    "owner_id" VARCHAR(255) NOT NULL,
    "position" INT,
    "location_context" VARCHAR(255),
    "quantity" INT NOT NULL,
    "condition" INT,
    "flags_override" JSONB NOT NULL,
    "binding_state" VARCHAR(32),
    "attunement_state" JSONB NOT NULL,
    "custom_name" VARCHAR(255),
    "metadata" JSONB NOT NULL,
    "origin_source" VARCHAR(64),
    "origin_metadata" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_item_instan_prototy_e8fb83" ON "item_instances" ("prototype_id");
CREATE INDEX IF NOT EXISTS "idx_item_instan_owner_t_c5c5d4" ON "item_instances" ("owner_type", "owner_id");
COMMENT ON TABLE "item_instances" IS 'One item. Where it is, is ``(owner_type, owner_id)`` on this row and nowhere else.';
CREATE TABLE IF NOT EXISTS "professions" (
    "id" INT NOT NULL PRIMARY KEY,
    "name" VARCHAR(50) NOT NULL UNIQUE,
    "description" TEXT NOT NULL,
    "flavor_text" TEXT NOT NULL,
    "stat_requirements" JSONB NOT NULL,
    "mechanical_effects" JSONB NOT NULL,
    "is_available" BOOL NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_professions_is_avai_4d2cdd" ON "professions" ("is_available");
COMMENT ON TABLE "professions" IS 'A profession (character class) with its stat requirements and effects.';
CREATE TABLE IF NOT EXISTS "players" (
    "player_id" UUID NOT NULL PRIMARY KEY,
    "user_id" UUID NOT NULL,
    "name" VARCHAR(50) NOT NULL,
    "current_room_id" VARCHAR(255) NOT NULL,
    "respawn_room_id" VARCHAR(255),
    "stats" JSONB NOT NULL,
    "experience_points" INT NOT NULL,
    "level" INT NOT NULL,
    "is_admin" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_active" TIMESTAMPTZ NOT NULL,
    "profession_id" INT REFERENCES "professions" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_players_user_id_132ee4" ON "players" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_players_current_7af152" ON "players" ("current_room_id");
COMMENT ON TABLE "players" IS 'A player character.';
CREATE TABLE IF NOT EXISTS "rooms" (
    "room_id" VARCHAR(255) NOT NULL PRIMARY KEY,
    "name" VARCHAR(255) NOT NULL,
    "description" TEXT NOT NULL,
    "plane" VARCHAR(64) NOT NULL,
    "zone" VARCHAR(64) NOT NULL,
    "sub_zone" VARCHAR(64) NOT NULL,
    "exits" JSONB NOT NULL,
    "attributes" JSONB NOT NULL
);
COMMENT ON TABLE "rooms" IS 'A room. Ids are hierarchical strings such as ``earth_arkhamcity_sanitarium_room_foyer_001``.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
"eJztXG1z2zYS/isYfakzo6iy46SdtNcZ23EuuiZ26ijXTOsOBZGQhDMJKARoWZfmfvvtgh"
    "TFV0W0RVvW8ENTGcQC4LPLBfZZAF9aXuBYU+YrrjQTNuucSKEpF8xvvSRfWoJ6DH6sqNUm"
    "LTqdFtTBJ5oOXSNvL+orIzBU2qe2hicj6ioGRQ5Tts+nmkuB9Y9ILEF8OeuQnlaEa+YpQn"
    "1GBgP8bXGhNIWu1GCAtRSRM8EcMpxDhb3LZaeX0Cl3ngwGHezdkTZ0z8W4zo4uxaU4Fdfc"
    "l8JjQhMqHOjJnyq27FARbNUhXBAKzUqP7A0G+H+LO4PBk58I+xzwqRFPyAyZK8X4UmgJjR"
    "J4yPUcBcNfoWibzCbcnhCPzqE+1jt7f9ImSsKrEZv6PmeKCElG0md8LMgVmxtoAsE/B8zS"
    "csz0xJjAn39BMRcOu2Fq8ef0yhpx5jopC4lHCCPApkwNS8+n5unHj71Xr40MKmBo2dINPF"
    "EkN53riRSxYBBwp4PS+GzMoB7VzEkYjghcN7KyRVH4FlCg/YDFw3eWBQ4b0cBF82v9PAqE"
    "jVZHTE/4z+Ev0SAT1Szr7LxvfTjtW1YrZ604hIxdRUXwcmjpXGgE78vXsN0lNKa0hR2cvD"
    "m62Hv24omBQCo99s1DA1zrqxGkmoaiRhFL5JUMfJuFiOWAP5lQvxj4jFgGdxj2bRBfFKyA"
    "fIFWDfi2PHpjuUyM9QT+3H+xAu9/H10YyPdDyCW4o9BTnUVPDswjRH6JNH71Ve07KXMH24"
    "5g3BKg72LISzgjV1fFaBMitzLY7YIxba8Hz5+vYbBQq9RizbM0xvGsUMVmU0KN0aYAdaV9"
    "ZcG8rSs527RUXb52uZiKoQsEds2cuqa0ul2uTafURmNUrtQqD3lP6JJ1RU4wgzq8QV2oH3"
    "TrQnuMQ3h6sH/4w+GPz14c/ghVzDDjkh9WKKB31s+gO4PV30RbLve4roBtVuxWyH7bOeSB"
    "rdMXbxhah9l0btECWF8BJpp7rBjbpFwGVycS7Cx+7JIL7vfenX7oH717j817Sn12DVZH/V"
    "N8cmBK55nSvawniRshv/f6bwj+Sf44PzvN+vW4Xv+PFo6JBlpaQs4s6iRxXBQvilIKpq4r"
    "Z8yxfOmyAsf0rw/nZ8Uazglm1cxtTf4mLsTRtU0Ly7BnGHBXQ3zbwf4eIvJBoFI6X0wHe+"
    "+OPmVnipO358dZZWIDx5mvz2OaYsBURS9Jme1QCXa7MyqxfYaQ3cIlpiU34BRvpaA65x54"
    "QedcuPPIHT8SNxnNHCu9ZDB1bqn1tGSj9W3ResHkaEaPzODoKsFQYcGQ2lcz6jtW7ok8kG"
    "V184+8Ay9bQgUdG50huDjMLEXd08zrRbxtaxWXnarYXovOTpPC61Ha54IZYrlDfp8wH38T"
    "rtrwH3LIIUuESm+TBWP0ZDAgMBvoCVTx5cxQyIC3EWbQRZ7M3nwXSGP3w7YMYczFNRNa+n"
    "OCLh5lpy6dIy0diibYdPwFdRUxqL0kNKr6nVq2cimgWT1hBD5IH8n05SDJP8h3kQA5OnsV"
    "DxnKfw7LCXd+GQwMq02FeW9iUyGkRsqbw8D1TGKfoCFCNYwVdB13gTQ5mUiwqAX3zp12PE"
    "ZDBhPpQ8HyhUwZhfGyG70mW/5na/lC5mNckIF/lfLoKdOqyI4VyW6Ga/g2k35vNNmLwzU4"
    "hheHpRwDPlpNqE99qSW2WxH+rNwOUuoH3XUInoNuOcODz4pY9arpi7TU/TFqO5m++BbM9d"
    "rzA4JcC+cOiyluhpXDuZRRS4o0bFqeTXOlTXEMlllV3BQEEyu595xsTcmjXbPkzwE1qaAK"
    "lpwUuT/Gff+R2DE071T1DSmZxjnkQR25dKwsec18nzsFi4hyyi8vuR3E305xsUN4exhP9a"
    "RpTnD3vPazgzWc9rODUp+Nj9JoU60DwXDTWBngKzITBbLb8UHsFhMeKC09y/xZ4XPIiO3e"
    "x1DLEqbJBG2d/Uufj7mwwg2IlYLRrODufQObYrdyaN/mOygQbT6HJjHapMiaxGij9UebGH"
    "1vUlytVSnRqEp7rWRolAFcLwt6tMiw2TDLQ03mF53JydXBPORggEEJHsHhmLQzrpSAYGBO"
    "yKBdmBM5L22XKvVy8D9POsxVHSMUvdEH00CHvGHU1ZM2+fQe85aXmDHTBGprqrBTMTa5Uw"
    "rLbW5T153jEZ0Pv739CbpV9JqRmc81U0SCjZLZBGQxh4k1w0GDvEMUB6AuBT6Rw/8wmCdn"
    "0LorqQMP9xTDw0X42t87zOYK4FHfd7vdZ0+xg6chAE8d7uv501DBHQ9P9nRIXxKPXjHoku"
    "pLAfapOCiCsGvMoC6Sf+FUSUa+9GDMOHkPqWImx+tDgOcNMWWLQ7umbsDwxFNydDOuJ3c9"
    "DxS+QcWN5ymh5iRQ1ZNAgaqMeEJkk3hv7TbTCjv9q8bndwrMt24OTkUlz9dJ+z4vz/o+zy"
    "V97cD3kWe6xRmgAtHdy7TXwoWArU/pTNwG9ALR3Qu+awHdrD+qRN2xQAbgsvXMPQTeZV3v"
    "TAzObmB1y3Fpa02lGUROYaX5uULZ+0t9PpazRi6sUN0KsMb1myxyFkquIOT0eEES+VhKl1"
    "FRsj0wIZYBdQhydaEal9yvnzg+P3+b8hPHvX7GO3x8d3x6sbdvnAZUgpiuGO+GoSs37cfJ"
    "1azD0LlUaYvCBHhdEAasVntGtNH7Y9L71JcjppCRKVwjl+/hy8o1e3VCV5ojQIuwzgP9Or"
    "yc5lc2N3gnj2hkV8ZZ+jLV6uMC/OvCrBalyyH6dBYTbXlrgx+wSGfhHHYBH8FF7wTQf2iy"
    "eamKlYRzSmPrkM6xwPrEcyxC9mJmmRi2+ImhPAnX5komTXy8eck3O2HCky1sNGI2xD5FXP"
    "WGmr0D11rJTd3BN23ZsZCNrKrL2dSH5f+26MTN5tm/5LByCPfZTYnpZsTu8RqVB+A5+qef"
    "+qt5jnjV9Pb87J+L6lnyI7dV9lr6VvEW+nLgM2IN8JWBR/9vJf1/VUYwJ9zsxNk4C+gxTN"
    "5iyteKZuYqWiqWbtS0cTUhj3VNeQhSTkHfpMCSorXRYLnZelHwqEiwCltXspn/gk/nOBJ8"
    "/esFc2nJLF6+FWU34riv9xJ2XUjptVYFXKZCe61QC1N+awdZWLlDek54fe6Eg8Z8e4JOkY"
    "SAQSgU2BM8Rz8YMOrriUX9qwn1wrvawH9q6vPACxONI4nbQbrd/eKre+vrLNxvxG642W/k"
    "0SnuOHJg+g39qpZm80x0bwDungGXA8PQskNCg40u/F1eLWxqKnP57vxSpO/eDdvj8VUJi1"
    "08jpFTBMahtNnwQ2Z4F4PAzT5mExJoi+D1DHeNIB/gKs5tjng2mAje1vjyoXnF+hPvTZD5"
    "QLEOLABEJcuOBXbQtDd/oOO/shq6i/oNuGuAq4KhVRXgpEwD8hogm3VVldA6Fmii6Y1H01"
    "TDeIaBrniJaUqqUctG1LJtJ0WOmM/tSWtVHBlVaa8VSdJl5W+FkuV62bY8WRSlbG9kU3Oa"
    "7BqVXbTELp8wEyI7OF/WEszg11UB4aj6DqK7313rCrruiivouvnTCOFdlVUmwITI/c9+D3"
    "N2Zjfmua//B8zdMUA="
)
