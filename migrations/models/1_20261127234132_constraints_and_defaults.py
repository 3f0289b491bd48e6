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
    "eJztXG1z2zYS/isYfakz46iy4qSdtNcZ23EuuiZ26ijXTOsOBZGQhDMJKARoWZfmfvvtgh"
    "TFV0W0RVvW8ENTGcAC4LPLBfdZAF9annSYq9onUmjKBfNbL8mXlqAegx/5yn3SotPpsgoL"
    "NB26prW9aGaK6VBpn9oaakbUVQyKHKZsn081lwLbH5FYgvhy1iY9rQjXzFOE+owMBvjb4k"
    "JpKmymBgNspYicCeaQ4Rwa7F0uB72EQbnzZDBo4+iOtGF4LsZ1DnQpLsWpuOa+FB4TmlDh"
    "wEj+VLHlgIpgrw7hglDoVnpkbzDA/1vcGQye/ETY54BPjXhCZshcKcaXQkvolEAl13MUDH"
    "+FovtkNuH2hHh0Du2x3dn7k32iJDwasanvc6aIkGQkfcbHglyxuYEmEPxzwCwtx0xPjML/"
    "/AuKuXDYDVOLP6dX1ogz10nZQzxDmAF2ZVpYej41tR8/9l69NjKogKFlSzfwRJHcdK4nUs"
    "SCQcCdNkpj3ZhBO6qZkzAcEbhuZGWLovApoED7AYun7ywLHDaigYvm1/p5FAgbrY6YkfCf"
    "w1+iSSaaWdbZed/6cNq3rFbOWnEKGbuKiuDh0NK50Ajel69hv0toTGkLBzh5c3Sx9+zFEw"
    "OBVHrsm0oDXOurEaSahqJGEUvklQx8m4WI5YA/mVC/GPiMWAZ3mPZtEF8UrIB8gVYN+LY8"
    "emO5TIz1BP48eLEC738fXRjID0LIJbij0FOdRTVdU4XIL5HGt76qfSdl7mDbEYxbAvRdDH"
    "kJZ+TqqhhtQuRWBrtdMKbttfv8+RoGC61KLdbUpTGOV4UqNpsSaow2Bagr7SsL1m1dydmm"
    "perytcuPqRi6QODQzKlrSavb5dp0Sm00RuVKrfKQ94Qu+a7ICWZQhyeoC/Vupy60xziFp9"
    "2Dwx8Of3z24vBHaGKmGZf8sEIBvbN+Bt0ZfP1NtOVyj+sK2GbFboXst51DHtg6ffGGoXWY"
    "TecWLYD1FWCiuceKsU3KZXB1IsH24scuueB+793ph/7Ru/fYvafUZ9dgddQ/xZquKZ1nSv"
    "eyniTuhPze678h+Cf54/zsNOvX43b9P1o4JxpoaQk5s6iTxHFRvChKKZi6rpwxx/Klywoc"
    "078+nJ8VazgnmFUztzX5m7hc1eagEmHPMOCuhvi2jeM9ROSDQKV0vlgO9t4dfcquFCdvz4"
    "+zysQOjjNvn8c0xYCpil6SMtuhEhx2Z1Ri+wwhu4VLTEtuwCneSkF1rj3wgM65cOeRO34k"
    "bjJaOVZ6yWDq3FLraclG69ui9YLF0cwemcHRVYKhwoIhta9m1HesXI3syrK2+Sqv62VLqK"
    "BjozMEF6cZEdI9zbxeRNe2CgjrVP3+Ks46zfyux1ufC2bY4zb5fcJ8/E242of/kCgOqSDU"
    "7D5Z0EJPBgMCLl9PoIkvZ4YnBlCNMEyI5RnrzQ+BXHU/7MuwwlxcM6GlPyfox1F26tI5cs"
    "+haIIyx1/QVhGD2ktCo6bfqWUvlwK61RNG4K3zkTFfTpL8g3wXCZCjs1fxlKH857CccOeX"
    "wcBQ11SY5yY2FUJq5LU5TFzPJI4JGiJUw1xt1o6HQC6cTCSYzYJg585+PEfD+BLpQ8HygU"
    "wZhfmyG70mJf5na/lA5o1bMH5/lZLlKdOqSIEVyW6GUPg2XX5vXNiLwzWIhBeHpUQCVq1m"
    "zae+1BL7rQh/Vm4HefNuZx0Wp9spp3Gwrog6r5qjSEvdH222kzmKb8Fcrz0/IMi1EOvwxc"
    "TNtHI4l9JmSZGGMstTZq60Kc7BMl8VNwURw0qCPSdbU4Zo1yz5c0BNvqeCJSdF7o9WP3gk"
    "dgzdO1V9Q0qmcQ55UEcuHStLXjPf507BR0Q5r5eX3A52b6cI1yE8PcynemY0J7h7XvtZdw"
    "2n/axb6rOxKo021ToQDHeGlQG+Iv1QILsdL8Ru0d2B0tKzzJ8VXoeM2O69DLV8wjTpnq2z"
    "f+nzMRdWuMuwUjCaFdy9d2BT7FYO7du8BwWizevQZD+bPFiT/Wy0/tiyn+9NZqtVkPeMav"
    "ZXZTyjNN96qc6jRRrNhqUcWjK/6HRNrg0mGwcDjDzwMA3HzJzxlwQEA3PWBZVvzta8tF2q"
    "1MvB/6JHMELRg3wwHbTJG0ZdPdknn95jcvIS02KaQGtNFQ4qxiZBSuGbmtvUded42ObDb2"
    "9/gmEVvWZk5nPNFJFgiGQ2AVlMVGLLcNIg7xDFhc0uBdbI4X8YLIYz6N2V1IHKPcXwmBA+"
    "9vcOs7kCeNT3nU7n2VMc4GkIwFOH+3r+NNRi28MzOm3Sl8SjVwyGpPpSgBEqDoog7BrTpI"
    "sMX7gekpEvPZgzrtBDqphJ5PoQxXlDzMvi1K6pGzA8u5Sc3YzryV1P9oRPUHELeUqoOdNT"
    "9UxPoCojnhDZJN5bu2G0wp79qkH4naLvrVtoU6HH83Vyu8/LU7vPc5ldO/B9JJNucZqnQH"
    "T30um1EB5g61M6E7cBvUB09yLsWkA33x9VQutYIANw2ffMPUTXZUPvTKDNbqbM5wz3Rk2l"
    "mUROYaVJuELZ+8tvPpZTQy58oboVYI3bN6niLJRcQVzp8YJM8bGULqOiZA9gQiwD6hDk6k"
    "I1LrlfP3F8fv425SeOe/2Md/j47vj0Yu/AOA1oBDFdMd4NDVdu2o+TkFmHhnOp0haFBfC6"
    "IAxYrfaMaKP3x6T3qS9HTCEjU/iNXL5RLyvXbMgJXWmO5SzCOg/06/CamV/Z3OCdPH5R/G"
    "X8PtXZ48L568KaFqXLKfp0FvNreSODH/DwLFy6LsD2L3onAPoDEclLDRSRySn9rCCU43br"
    "k8qxCNmLWWNimOAnhs4kXJuLkzTx8X4k32xlCY+msNGI2RDXFPHQG+r2DjxqJRd0B7+zZe"
    "c6NvLFXM6UPiy3t0VHZjbP7CWnlUO4z25KTDcjdo+XnTwAh9E//dRfzWHEX0Rvz8/+uWie"
    "JTZye12vpW8V74EvBz4j1gBfGXj0/1bS/1dl+3LCzVaajTN8HsPELKZzrWhlrqKlYulGTR"
    "tXE3JU15SHIOUU9E16KylaG8WVW60XBY+K4Kqw9ySb1S94dY4jwde/XjCXlqziuU0luxGj"
    "fa0zpLqQ0msVBFOmfH9VGIWpurUDKGzcJj0nvMB2wkEtvj1Bh0dCVCDMCewJHnIfDBj19c"
    "Si/tWEeuFtaeAbNfV54IUJwpHEbRydzkHx5bn1DRbuE2I33OwT8ugUdwo5sLSGPlNLs+kl"
    "OtSPu17AncA0tGyT0CqjK3eXl/ualspcfzu/FOnbb8P+eHyPwWL3jWPkFIF5KG026pAZXp"
    "QgcJOO2TykmSB4d8Jdo8MHuAxzm6OZDSZwtzV2fGg+sP6EeRNAPlAcA4u7qGTZscAOmvbm"
    "T1v8V1ZDd9G+AXcNcFUwtKoCnJRpQF4DZPNdVSVsjgWaSHnjkTLVMJ9hoCteI5qSatSyEb"
    "VsyTGOI+Zze9IqCBajmv1V4SJdtvlWvFgO/rYluqJQZHvDl5rzXBBvFifXy1fFhMgOLoq1"
    "RCz4UlVAOGq+g+gedNa6BK6z4hK4Tv6oQHhbZJVVLiFy/0vcwxxs2Y3F7Ov/AYX/5bk="
)
