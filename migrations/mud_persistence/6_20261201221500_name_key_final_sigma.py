"""Names unique ignoring case, Greek final sigma included (hand-written; no model change).

PostgreSQL's ``lower()`` maps capital sigma to medial sigma only, so ``ΟΔΟΣ`` and ``οδος``
(the same word) were two names. The unique index on active names becomes
``lower(translate(name, 'ς', 'σ'))`` under the same name; lookups by name use the same
expression. Existing rows that collide under the new rule (two active characters whose names
differ only so) would make the index fail: each later one is renamed first to the
first free ``<name> #k`` (k = 2, 3, ...), listed in a NOTICE.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
DO $$
DECLARE
    clash record;
    suffix int;
    candidate text;
BEGIN
    FOR clash IN
        SELECT player_id, name FROM (
            SELECT player_id, name,
                   row_number() OVER (PARTITION BY lower(translate(name, 'ς', 'σ'))
                                      ORDER BY created_at, player_id) AS n
              FROM players WHERE NOT is_deleted) ranked
         WHERE n > 1
         ORDER BY name, player_id
    LOOP
        -- The first free '<name> #k' (k = 2, 3, ...) under the new key: several clashes of
        -- one name, or a name that already ends so, must not collide in turn.
        suffix := 2;
        LOOP
            candidate := left(clash.name, 50 - length(' #' || suffix)) || ' #' || suffix;
            EXIT WHEN NOT EXISTS (
                SELECT 1 FROM players
                 WHERE NOT is_deleted
                   AND lower(translate(name, 'ς', 'σ')) = lower(translate(candidate, 'ς', 'σ')));
            suffix := suffix + 1;
        END LOOP;
        UPDATE players SET name = candidate WHERE player_id = clash.player_id;
        RAISE NOTICE 'player % renamed to %: % collides with another name ignoring case',
            clash.player_id, candidate, clash.name;
    END LOOP;
END
$$;
DROP INDEX IF EXISTS "players_name_lower_key";
CREATE UNIQUE INDEX "players_name_lower_key" ON "players" (lower(translate(name, 'ς', 'σ')))
    WHERE NOT is_deleted;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "players_name_lower_key";
CREATE UNIQUE INDEX "players_name_lower_key" ON "players" (lower((name)::text)) WHERE NOT is_deleted;
"""


MODELS_STATE = (
    "eJztXd1y2zYWfhWMbmLvKKqixE427XbGTtzG28TOJu6m07pDQSQkoSYBlQAta7vZZ99zwB"
    "9RJCWLNiXTGl40lUF8APgdEDx/AP9qeYFjTZivuNJM2KxzNJm4nDnnUEY1l6L1mvzVEtRj"
    "8OP2ym3SopNJQVW8ounANc3QEGbJGKcMcKC0T20NNYbUVQyKHKZsn0+icbSOBEkgRI+pJj"
    "b1fWiJUEH6fTmxuNPvwx8OsaXnca2Z0yZTrseEa0VkoKGYdbAzR9rQGxejCtu9FJfii49X"
    "BeHYECMKiCNwV0LBjWHrVJnypLsnirDhkNm6TZQklPhswqB/OYyqQc+XYsiFo6ArMwKf6c"
    "AXCsblMxW4GgbGBZBMHUQhtTO4LQMPWyZ0RLkwdx0I/mfALC1HDK77cO+//Q7F0Dy7YSr+"
    "c3JlDTlznQXRm6FgG+aSpWcTU/xmTP0fTGUkdWDZ0g08sQCYzPRYigQBtGPpiAmkgDkpcY"
    "vAdaM5EheFI4YC7QcsGaozL3DYkAILUIDocBDzspZlnZ1fWJ9PLiyrlZtQMSI1F6IiG+Yk"
    "iI0LrQwLHr2xXCZGegx/Puu9+hp2NOcirIY9/vvo05t3R5/2oNY+dilhTofT/iy61AuvfT"
    "WNUE3DZgz9c76v4E7L0B3Xr4btuGBO9/yR3Drfz3tr0P28t5RtvIRkz8n1Gdym0nl+//n5"
    "/KyY3xQkQ7HD4Rn7L3F5eHUTVLe+GwYiXEAGAXc1PPAd7Pb71oYEsIJwpAhb9pT6000Tvf"
    "fh6JesDN68Pz82lEmlR75pxTRwnBMILmXl5BEjGnFULg7bZ0iZRQtE8hauaO6xYrEsIrOi"
    "iaCd+Ec1AtrqmwDuzzkX7izqd4VkLk4/nHy+OPrwcUE8b48uTvBKz5TOMqV7hxmRJY2QL6"
    "cX7wj+SX49PzvJSjGpd/FrC8dEAy0tIacWdVIUxaUxjV/xdT+8Sr2AsGBA7asp9R0rd0X2"
    "5LK6+Utez8uWUEFHRmRILg4zq1C+kUID10Y1Wa52zmutp2/acf119UySIIgvpx1yqlH9Yp"
    "4i1GegeeFvC7UuCl0p0MCgFuiBUwEq42AGFfYu551eQqfc2e/3CxTPDXWEmuiJuOa+FB4T"
    "OtJc/Yli8w4VwVYd1FRB7ZTSI3ugUsL/jbK7/y2BFx6fGHgKM2CuFKNLoSXqxnCR6xkCw1"
    "8hFFTjMbfHxKMzqI/1zj6+MfotjzVrRYQkQ+kzPhLkis3uq50mIyxUUn/++fTtkuUqg8ss"
    "WEHAnQ6iN6Oxpt4jpif858VDvERCDSpce9Krirn11XqqkoFvs5CxEupqBrYprfUBjYTDdW"
    "yE7HKfMhEOs0orPvVl53cac4+5HdFYE6LvM5FTKme41JWZtCnInSZsvWhcnK+9g4M1JizU"
    "WjpjzbVFjpO3Qpk5uwBqJu0Coa60ryx4b+tSi+0ianseAqiNXTNnU6+0TS+5Np1QGyejcq"
    "VWecpPhV6iV+SAGdbhDjbFeq+7KbZHOISnvWcvXr549fzwxSuoYoaZlLxcIYDTs4sMu1PQ"
    "/sbacrnHC+zMpdxmYXdi9vbFYbsOr4qpdZhNZ3cw39O4Coz3R7ME18lWj0nKGetpAVPXlV"
    "PmWL50WcHCtNxvlgPWw32G/e2M+8xjmqLBVEYuaUw9RNJ4NB/Mo7ndd89uuTTTUg8mzh2l"
    "vohspF4XqRe8HM3o6+bIPtXMO438tq1VvuyFiu213NmLTuH1XNrnghnHcod8GTMffxOu2v"
    "Af+pBDLxEKvU1ij9F+v09MNgRU8eXUuJCBbwNm0EXemV19F+jGvgjbMg5jLq6Z0NKfEVzi"
    "ETtx6Qzd0iE05U3HX1BXEcPaa0Kjqk/UvJVLwcNsDHggfXSmzwdJ/kGeRABydPY2GTKUfx"
    "eWE+583++HWRvC3DexqRBSo8ubw8D1VGKfICGCCR0o66QLk04yljCjYt87d9rJGI0zmEgf"
    "CuY3ZMowe4Td6DW95b+15jdkHsbYGfj7Uj/6wtQq6R0rwu5c7sfhizV8DIcvlvoY8NJqh/"
    "rEl1piuyXpz+J20KXe666Vd9NdkXfTLfaqlw1fLKJ2MOdmm+GL22je7Hx+QJI34nMHZYrH"
    "uZhretTSkMablvemudI2yZqW0SpuCoyJlb73HHZDwaNdm8l/BtSEgkrM5DRkex73Z49kHk"
    "PzTtm1YQHTLA55UocuHSlLXjPf506BErHc5ZdH1sPxt1O+2AHcPYynfNA0B9y9Vbv6xGqq"
    "dSAYJo0tI3xFZKIAW48HYrc84YHS0rPMnyUehwxs9x6GjagwTSSodvNf+nzEhRUmIJYyRr"
    "PA3XsGqvJu5di+y3NQAG0ehyYw2oTImsBoI/VHHRj9ADYv6vmt2wKjScX2+oFRL8KUCIwi"
    "BDdPyyiC2cZt1AymnxPv405v4TYbxBHiYIhzjwpCAwd+ucwZMX+/ODBafRf32C1T5IQ/5q"
    "OlPqBCB3yB8ydaeeobygtdP3/v9Z4/f9nrPj98dfDi5cuDV93EB5S/tMoZdHz6I/qDFh7n"
    "2EG0PMBXzxhrnQJ91auhQx9s17uF+gqgOxiKqj7el+Kt3BzPAXeQ7o04G+DFf7cpngPuIO"
    "PVT/CEtXLTOwPbQao3MrlBK1dFgasVu/USxA5yXL3rfssH/NTaD1bhCT8pAwf1+TtY3Glc"
    "Y2/Xxd5+LCdqoBn9MU4NbN1mcM9rtte3uJPMwzVN7i9o3cZJs1y9Noeo4ahMGm+4vQ/PkD"
    "B2LRrAYO7YV2GS71hOoVk/b2RX0SjmG7+XFI1yVEIJJVPpu/CHdB0A7UXncczvt/MHvGH6"
    "/X3i8itmEnnDBqHGkCmFJ9t1yMk1M7nGZmCR6WZGpow3YC97ykcnncmJp7thknDqrAyiZZ"
    "gzbaSw374U2GUqV/gJZlynd0lCI7YMMBs6Lid/I3GqDCZhDw1b5uCR+/oW6pW+WqPM4Qqz"
    "V5f7FspGde8Vzq3dm2TzWmj49OQZvmWz8nrus6oofiz7v80KbG40x+exlC6jopjTBVyG1g"
    "EAN8VrUrLdsN/x+fn7BYXn+DTjczz7+cPxCawdZiZDJVjIixnHB8SwV2IGL2CanMocpU2G"
    "Rx1C2nVTuz+anVwr9e2oynqKdrTRbT0F+yjeSGbDix9qsgJ9uaAOqr/9PubeqVjtNPQSAA"
    "bmIDgUnjl47rXtUqVe9//nSYe5qmNA0R19Ng10yDtGXT1uk18+ok58ieqtJlBbU4WdipHZ"
    "Iki19LhNXXeGgbDP/3r/LXSr6DUjUx/WMdSR4dIUtXuMkmHNcNCAd4jiQNSlMGclD/7Aw4"
    "6n0Lob6vB7iuEZenjb3zjM5kYf/6bb7faeYgdPQwKeOtzXs6ehgDseHmDXIReSeBRUegzE"
    "XQqYcIqDIAhDVX6uxJvHJzYV8IEeUMXMVkafecwb4M5EHNo1dQNmDnBOjQ6Pj763sm3uoO"
    "T5Sgug5sC7sgfeBao04ylIlXw/bMiumgOtGoMlMVgO1rEPD5abhwe5vY124PuYTn2Ho+4K"
    "oLsXZ95QoEJN6FTchfQC6O751jdCutE/yqjgCSBDcFpBW6bbbEExX2cYj1pfXzgl8gZul+"
    "O9WhPJRZEgV2UnFcJ3xtuylWSl1FZXUHHdEt6BpH7jGchSyZVFHY8XxKxXerfSsMa5VcK5"
    "1WSyL5/auxVjXViwqNIWps1eF9gRq8WegTZyf0xyh2US1CKmWVEu8y3rawrYrLAlVtiItz"
    "udK5tGbuVk2a0+aI/kwSrYJJJ/subJC4Xm6/JTZLK45rSI8BHKxSaKuM4T/UOY8vETmxm+"
    "04cEZpjNRRYWWn1chH+Np1VcOh+iT6eJDzw/2+BHuMrg1U/wFHw6fQPsP3QcaC6KlbGgBY"
    "mtEw+aZxitHRNKIGQvCfoQE8jZn3/M0kRp8GN33A+3UZmEpvBLkqowjFRRsxXvZ7r3Zqb6"
    "pxdVYq/WNZeoRplb1Tvm08PKMXzBbpZM3Qxsix/yeABX48XJLxerXY2J2vT+/OzHuHrW/5"
    "g7rOla+lbxIW7Lic/AGuJLE4/rv5Ve/8s663PgJnGmcke8xzCvArMxrOjNXEZKxehGTJWL"
    "CT3E15S7d0idzEI35v7Iva3jgkfl/CiRVZZNyikKYkXAH376xFy65C2+PEtsN+y4r1sxuz"
    "5J6bVWGVymQnstU8ts61jXyMLKHXLqhB9wHXOQmG+PcVEkIWFgCgX2GE9y7/cZ9fXYov7V"
    "mHrh18Jg/dTU54EX5gAMJWZqdbvPij8eu7nOwlRAdsNNKqBHJ5gM6MDrNzqfQpq8tujkem"
    "JOpqAwDC07JJyw0Sdn5x+3NTWV+fzr7FIsfv11cUfL6yTBzom21MA4lA4PxZji1wAE5uGZ"
    "/ECQFsEPBNzXgnyAj0HW2eKpMEejrvblQ/sVN58T0xiZD2TrgAIgSs3sBLCDU7v6s1z+I8"
    "uxG9dvyF2DXBUMrLIEpzENyWuQbPSqMqZ1Amis6cqtaaphPINAl/yM5gKqEUslYqnbJq4j"
    "5nN73FplR0ZV2mtZknRe+TZTcrlc6hYneySH/m0sTHaNwi53MlEKsoPvy40YM/h0lWA4qr"
    "6D7D7rrnWMRHfFMRLd/Eah8GuJZV6AKcj2334Pk8m1G++5r/8HkKRxGQ=="
)
