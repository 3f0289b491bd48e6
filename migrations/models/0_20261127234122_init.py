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
