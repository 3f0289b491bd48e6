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
    "eJztXW1z2zYS/isYfakzo6iKYju5tNcZO3FbXxM756jXTusOBZGQhDMJqARoWdfL/fbbBV"
    "9E8UURbUqWNfzQVAawAPgsCOw+WIB/tTzpMFd1TqZTlzPncsp8qrkUrTfkr5agHoMfpWXa"
    "pEWn00UJTNB06BohGpa2ZFzcZNOh0j61NZQYUVcxSHKYsn0+jVptnQiSiBA9oZrY1PehJk"
    "IFGQzk1OLOYAB/OMSWnse1Zk6bzLieEK4VkYGGZNbBxhxpQ2tcjGus91pci198zBWEY0WM"
    "KICJwFMJBQ+GtVNl0pPmvlKEjUbM1m2iJKHEZ1MG7ctRVAxavhYjLhwFTZke+EwHvlDQL5"
    "+pwNXQMS6UZtRBKYR2Do9lxMOaCR1TLsxTB4L/GTBLyzGDfB+e/fc/IBmqZ3dMxX9Ob6wR"
    "Z66zpGjTFazDZFl6PjXJbyfU/94URlCHli3dwBNLAtO5nkiRSADsmDpmAiFgTkrdInDdaI"
    "zESWGPIUH7AUu66iwSHDaigAIkoHTYiUVay7IuLvvWp7O+ZbVyAyqWSI2FKMmGMQlq40Ir"
    "g4JH7yyXibGewJ8veq8/hw0tsAiLYYv/Orl6++PJ1QGUeoZNShjT4bC/iLJ6Yd5nUwnVNK"
    "zGwL/A+waetArccfl60I4TFnAvXsmt4/2ytwbcL3ulaGMWgr0A12fwmErn8f3Hp8uLYnxT"
    "IhmIHQ7v2H+Jy8PcTUDd+nYUiHACGQbc1fDCd7DZ71obUsAKwBEirNlT6k83DfTBh5Nfsz"
    "p4+/7y1EAmlR77phZTwWlOITiVVdNHLNGoo3Z12D5DyCxaoJJ3kKO5x4rVsiyZVU0k2ol/"
    "1KOgra4E8HzOpXDnUbsrNNM//3D2qX/y4eOSet6d9M8wp2dS55nUg+OMypJKyC/n/R8J/k"
    "l+u7w4y2oxKdf/rYV9ooGWlpAzizopiOLUGMbPuNyPblILECYMqX0zo75j5XJkT5aVzWd5"
    "PS+bQgUdG5UhuNjNyHx8K4UGiI1FkrMtF5krjUo7LrauMUkSCeLLWYeca7SxmKcI9RmYV/"
    "jbQtOKCpspMLOgFBh7MwF24XAOBQ6uF41eQ6PceTYYFFiXG2oIzc0zcct9KTwmdGSe+lPF"
    "Fg0qgrU6aI6CbSmlRw7AboT/G4v22TcEVjU+NeIpmSFzpRhfCy3RAIZMrucoGP4KRcH+nX"
    "B7Qjw6h/JY7uLjW2PE8th8VkRIMpI+42NBbtj8oSZo0sNCS/Tnn8/flcxJGbnMrBQE3Omg"
    "9GbM0tRiYVrCfw4fY6UIzaRwgklPHebRVxujSga+zULEKtikGbFNmaaP6Akcr+MIZOf0lB"
    "9wnLVM8a2vOr7TMg8Y2xGMOwL0QwZyyq4Mp7oqgzYlcq8Bu1swLo/X3tHRGgMWSpWOWJO3"
    "jHGyKlQZs0tCzaBdAtSV9o0F67auNNkuS22PBoDS2DRzNrWkbXrKtemU2jgYlSu1ykN+Ln"
    "SJXZETzKAOT7Ap1HvdTaE9xi487704fHX4+uXx4WsoYrqZpLxaoYDzi34G3RlYfxNtudzj"
    "Bc5kKbZZsXsh++XJYbusVs3QOsym83v46Gm5Gjz0JzMF75JDHoOU88jTCqauK2fMsXzpso"
    "KJqZwcywnuBkeG7e0NR+YxTdFhqqKXtMxuqKShLR+Nttzu2rNfvGVa68HUuafWlyUbre+K"
    "1gsWR9P7HWGrzzXzziO6tlVAWC/lt1dx1svM73q89aVghj3ukF8mzMffhKs2/IdEcUgFoW"
    "bbJKaFng0GxMQ1QBFfzgxPDKAaYehQQTxE/U0gV90P6zKsMBe3TGjpzwnO4yg7dekcuedQ"
    "NEWZ4y8oq4hB7Q2hUdGv1KKWa8HDuAp463xkzBedJH8nX0UC5OTiXdJlSP82TCfc+W4wCO"
    "MvhHluYlMhpEZem0PH9Uxim6AhgqEZoKpO0oQJDJlIGDYxwc6ddtJHw/gS6UPC4oFMGsaB"
    "sDu9JiX+e2vxQOaNixm/P0rJ8qWhVZECK5LduyiO48M1iITjw1IiAbNWs+ZTX2qJ9VaEPy"
    "u3h7x5r7tWBE13RQRNt5g6r7pHsSy1h9Ez29yj+BLMmx3PjwjyRoh1sJh4HEy5Jm2WFmko"
    "szxl5krbhF1axqq4K/AYVhLsOdkN7RDt20j+M6Bmv6fCSE6LbI9Wf/FExjFU71SdG5Zkms"
    "khD+rIpWNlyVvm+9wpMCLKeb285G6we3tFuA7h6aE/1XdGc4L7N2vXHyJNtQ4Ew8iwMsBX"
    "bD8UyO7GC7FfdHegtPQs82eF1yEjtn8vw0ZMmGa7Z+fGv/T5mAsrjDKs5IxmBffvHaiL3c"
    "qhfZ/3oEC0eR2a3c9mH6zZ/Wy0/hR3Pz+Aq4vmfatk9zPJb39x99OLilbY/UQRPOsso23K"
    "Np56ZjDGnPjYdfrEtTnPjSIO7mMeUEFo4MAvlzlj5j8r3v2sv4kHnHspYtpP+biU6Clk2Q"
    "sYnmh62d39upDf+Vuv9/Llq1735fHro8NXr45edxOiJ5+1ivE5Pf8BSZ+ldzZmgcp38XZz"
    "I3WXdvPqtzVHPjio99vPKxDdw/2m+jf1UrhVG+M5wT2EeyOMAqzu9xviOcE9RLz+AZ6gVm"
    "14Z8T2EOqNDG4wvVXR7tSKc3eJxB5iXD8/v+X7eHaa7KrxQp60O3N7L7c6Ldc41bviVO/4"
    "BRgfTbhoq8CdjnLaqxzpKHZ2PQ/6JI5NtWGqgJLML7qyIlcGI3gHA9zOwxsqOIa7GhKSgG"
    "BgLpBA5ZsLK97YLlXqzeB/0SMYoehBPpkKOuRHRl09aZNfP2LE7zW6SJpAaU0VNirGJuqY"
    "aulxm7ruHN3uT/98/w00qyj45jMffCsF/jlkzdD9Rp8cS4adBnmHKA5e17UwF6kN/403oc"
    "2gdldSdOMPFMO7N/Cxv3aYzRVeQ/d1t9vtPccGnocAPHe4r+fPQy12PLz4okP6knj0hhm3"
    "/1rAIFQcFEHYLcYex95eSDITtI6hz+hdDqliJjraZx7zhhjsjF27pW7AzO1uqd7h3XIPpQ"
    "3CJ6h4LntJqLkoo+pFGYGqjHhKpE68d/YUZoWD8FV3th+0pb1zC+2SiXO0TsD0UXm89FEu"
    "XNoOfB8jNO5xRUaB6P6xWhtyi9SUzsR9QC8Q3T9LfiOgG/ujyn51IpABuMye2cKWdVnTe7"
    "N7ze6mzOcMefKp5KLSRRyFstsLGn4qV3G4YKG6FWBNyjfx11kouQK/0uMFBNeplC6jomQ/"
    "KCWWAXUIcptCNUnZ7jxxenn5fmmeOD3P7L5d/Pzh9Ozq4IWZNKAQ+HTFeDexLeVDe78Ima"
    "UJiypt4R77bYEbsFrtGdFG709J71NfjphCRqbQRi4//ZaVa065hFNpjuUswjoP9Pfh3a0/"
    "sbnBO32nQbFl/HGpsqeF8+d4NMWpiy76dJbwa/lBBj/g4Vm4dF3B2L86fwugPxKRvNBAEZ"
    "m8pJ8VhHJSbn1SOREhBwlrTAwT/GzxqQxD8+JV+twPo77MfQ/hdypUIQ9dU7U1h189OPaq"
    "Hsp0x6ed9gqm9HG5vR26h6J+Zi/drRzCfXZXMnQzYlu8QfQROIz+2a/91RxGYhG9v7z4IS"
    "6eJTZyB0hvpW8VHywvBz4j1gBfGXic/630/F+V7csJN+dTamf4PIYbs7ida0UrcxUtFUs3"
    "aqpdTchR3VIegpRT0BfprbToxiiu3GodJzwpgqtC7El2V7/g1TmNBL//6Yq5tGQVzwWV7I"
    "eP9nmTLtWVlF6rwJky6e1VbhRu1a3tQGHhDjl3wq/CTDioxbcnOOGREBVwcwJ7gjfHDQaM"
    "+npiUf9mQr3wCnKYGzX1eeCFG4QjiWEc3e6L4i/SbK6xME6I3XETJ+TRKUYKObC0RkdlpA"
    "l6iW7KI+aQDIVuaNkh4aiMvmOz+GKOKanMN2Xm12L5kzJhfTy5HDCOvnGMnCLQD6XD8zkz"
    "vH1QYJCOCR7CjzTihYQP9Q4f4QsTu+zN1LiBu6u+42PzgZvfMG8cyEfyY2BxF5VGdiKwh0"
    "O7/mNl/5HV0I3LN+CuAa4KhlZVgNMyDchrgGzsqipucyLQeMq1e8pUQ3+Gga74bY4lqUYt"
    "tahlR45xnDCf25NWgbMY5bRXuYt0UeZL/mI5+Lu20fVELhnY2D4X+JvFm+vlq2JKZA8XxY"
    "14LPhSVUA4Kr6H6L7ornWzenfFzerd/FGB8BMMVVa5lMj2l7jHOdiyH4vZ5/8Df4gvng=="
)
