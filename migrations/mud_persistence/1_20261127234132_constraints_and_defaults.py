"""Hand-written: the database-side rules Tortoise models cannot declare.

CHECK constraints on enums, ranges and JSONB shapes; the case-insensitive unique index on
players.name; column defaults (players.stats equals models.stats.default_stats_json()).
models/schema.py lists the same rules and tests/integration/test_migrations.py compares them.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
ALTER TABLE "players" ADD CONSTRAINT "players_stats_is_object" CHECK (jsonb_typeof(stats) = 'object');
ALTER TABLE "players" ADD CONSTRAINT "players_experience_points_nonnegative" CHECK (experience_points >= 0);
ALTER TABLE "players" ADD CONSTRAINT "players_level_positive" CHECK (level >= 1);
ALTER TABLE "players" ADD CONSTRAINT "players_name_not_blank" CHECK (length(btrim(name)) > 0);
ALTER TABLE "professions" ADD CONSTRAINT "professions_stat_requirements_is_object" CHECK (jsonb_typeof(stat_requirements) = 'object');
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_exits_is_object" CHECK (jsonb_typeof(exits) = 'object');
ALTER TABLE "containers" ADD CONSTRAINT "containers_source_type_valid" CHECK (source_type IN ('environment', 'equipment', 'corpse'));
ALTER TABLE "containers" ADD CONSTRAINT "containers_lock_state_valid" CHECK (lock_state IN ('unlocked', 'locked', 'sealed'));
ALTER TABLE "containers" ADD CONSTRAINT "containers_capacity_slots_range" CHECK (capacity_slots BETWEEN 1 AND 20);
ALTER TABLE "containers" ADD CONSTRAINT "containers_weight_limit_positive" CHECK (weight_limit IS NULL OR weight_limit > 0);
ALTER TABLE "containers" ADD CONSTRAINT "containers_placement" CHECK ((source_type = 'equipment' AND entity_id IS NOT NULL) OR (source_type IN ('environment', 'corpse') AND room_id IS NOT NULL));
ALTER TABLE "containers" ADD CONSTRAINT "containers_metadata_is_object" CHECK (jsonb_typeof(metadata) = 'object');
ALTER TABLE "item_instances" ADD CONSTRAINT "item_instances_owner_type_valid" CHECK (owner_type IN ('room', 'player', 'container'));
ALTER TABLE "item_instances" ADD CONSTRAINT "item_instances_quantity_positive" CHECK (quantity >= 1);
ALTER TABLE "item_instances" ADD CONSTRAINT "item_instances_owner_id_not_blank" CHECK (length(owner_id) > 0);
ALTER TABLE "item_instances" ADD CONSTRAINT "item_instances_metadata_is_object" CHECK (jsonb_typeof(metadata) = 'object');
CREATE UNIQUE INDEX "players_name_lower_key" ON "players" (lower((name)::text));
ALTER TABLE "players" ALTER COLUMN "stats" SET DEFAULT '{"strength":50,"dexterity":50,"constitution":50,"intelligence":50,"wisdom":50,"charisma":50,"lucidity":100,"occult_knowledge":0,"fear":0,"corruption":0,"cult_affiliation":0,"max_health":100,"current_health":100,"position":"standing"}'::jsonb;
ALTER TABLE "players" ALTER COLUMN "experience_points" SET DEFAULT 0;
ALTER TABLE "players" ALTER COLUMN "level" SET DEFAULT 1;
ALTER TABLE "players" ALTER COLUMN "is_admin" SET DEFAULT false;
ALTER TABLE "professions" ALTER COLUMN "description" SET DEFAULT '';
ALTER TABLE "professions" ALTER COLUMN "flavor_text" SET DEFAULT '';
ALTER TABLE "professions" ALTER COLUMN "is_available" SET DEFAULT true;
ALTER TABLE "rooms" ALTER COLUMN "description" SET DEFAULT '';
ALTER TABLE "professions" ALTER COLUMN "stat_requirements" SET DEFAULT '{}'::jsonb;
ALTER TABLE "professions" ALTER COLUMN "mechanical_effects" SET DEFAULT '{}'::jsonb;
ALTER TABLE "rooms" ALTER COLUMN "exits" SET DEFAULT '{}'::jsonb;
ALTER TABLE "rooms" ALTER COLUMN "attributes" SET DEFAULT '{}'::jsonb;
ALTER TABLE "containers" ALTER COLUMN "lock_state" SET DEFAULT 'unlocked';
ALTER TABLE "containers" ALTER COLUMN "capacity_slots" SET DEFAULT 20;
ALTER TABLE "containers" ALTER COLUMN "allowed_roles" SET DEFAULT '[]'::jsonb;
ALTER TABLE "containers" ALTER COLUMN "metadata" SET DEFAULT '{}'::jsonb;
ALTER TABLE "item_instances" ALTER COLUMN "quantity" SET DEFAULT 1;
ALTER TABLE "item_instances" ALTER COLUMN "flags_override" SET DEFAULT '[]'::jsonb;
ALTER TABLE "item_instances" ALTER COLUMN "attunement_state" SET DEFAULT '{}'::jsonb;
ALTER TABLE "item_instances" ALTER COLUMN "metadata" SET DEFAULT '{}'::jsonb;
ALTER TABLE "item_instances" ALTER COLUMN "origin_metadata" SET DEFAULT '{}'::jsonb;
ALTER TABLE "players" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "players" ALTER COLUMN "last_active" SET DEFAULT now();
ALTER TABLE "containers" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "containers" ALTER COLUMN "updated_at" SET DEFAULT now();
ALTER TABLE "item_instances" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "item_instances" ALTER COLUMN "updated_at" SET DEFAULT now();
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
ALTER TABLE "item_instances" ALTER COLUMN "updated_at" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "created_at" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "updated_at" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "created_at" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "last_active" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "created_at" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "origin_metadata" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "metadata" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "attunement_state" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "flags_override" DROP DEFAULT;
ALTER TABLE "item_instances" ALTER COLUMN "quantity" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "metadata" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "allowed_roles" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "capacity_slots" DROP DEFAULT;
ALTER TABLE "containers" ALTER COLUMN "lock_state" DROP DEFAULT;
ALTER TABLE "rooms" ALTER COLUMN "attributes" DROP DEFAULT;
ALTER TABLE "rooms" ALTER COLUMN "exits" DROP DEFAULT;
ALTER TABLE "professions" ALTER COLUMN "mechanical_effects" DROP DEFAULT;
ALTER TABLE "professions" ALTER COLUMN "stat_requirements" DROP DEFAULT;
ALTER TABLE "rooms" ALTER COLUMN "description" DROP DEFAULT;
ALTER TABLE "professions" ALTER COLUMN "is_available" DROP DEFAULT;
ALTER TABLE "professions" ALTER COLUMN "flavor_text" DROP DEFAULT;
ALTER TABLE "professions" ALTER COLUMN "description" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "is_admin" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "level" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "experience_points" DROP DEFAULT;
ALTER TABLE "players" ALTER COLUMN "stats" DROP DEFAULT;
DROP INDEX IF EXISTS "players_name_lower_key";
ALTER TABLE "item_instances" DROP CONSTRAINT IF EXISTS "item_instances_metadata_is_object";
ALTER TABLE "item_instances" DROP CONSTRAINT IF EXISTS "item_instances_owner_id_not_blank";
ALTER TABLE "item_instances" DROP CONSTRAINT IF EXISTS "item_instances_quantity_positive";
ALTER TABLE "item_instances" DROP CONSTRAINT IF EXISTS "item_instances_owner_type_valid";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_metadata_is_object";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_placement";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_weight_limit_positive";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_capacity_slots_range";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_lock_state_valid";
ALTER TABLE "containers" DROP CONSTRAINT IF EXISTS "containers_source_type_valid";
ALTER TABLE "rooms" DROP CONSTRAINT IF EXISTS "rooms_exits_is_object";
ALTER TABLE "professions" DROP CONSTRAINT IF EXISTS "professions_stat_requirements_is_object";
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_name_not_blank";
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_level_positive";
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_experience_points_nonnegative";
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_is_object";
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
