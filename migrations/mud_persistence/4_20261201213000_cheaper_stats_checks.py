"""Cheaper stats checks: the same rules as jsonpath, a third of the cost on every write.

Hand-written (no model changes; MODELS_STATE as in migration 3). Migration 3's per-key CHECKs
tested each stats key with text extraction and numeric casts, which made a single-row UPDATE
of ``players`` cost about twice as much as without them. Each is replaced, under the same
name, by one ``jsonb_path_match`` with the same meaning (a present key is a JSON integer
within its bounds; a missing key takes its default), added NOT VALID and then validated where
the existing rows allow, as in migration 3. The health floor the database enforces in
``players_stats_current_health_valid`` (``MUD_HEALTH_FLOOR``, set by ``python -m persistence
migrate``) is read from the old constraint and kept.
"""

import re

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_FLOOR_CHECK = "players_stats_current_health_valid"
_OLD_FLOOR = re.compile(r">= \('?(-?\d+)'?(?:::integer)?\)::numeric")
_NEW_FLOOR = re.compile(r'\$\."?current_health"? >= (-?\d+)')


async def _floor(db: BaseDBAsyncClient) -> int:
    rows = await db.execute_query_dict(
        "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = $1",
        [_FLOOR_CHECK],
    )
    for row in rows:
        for pattern in (_NEW_FLOOR, _OLD_FLOOR):
            found = pattern.search(row["definition"])
            if found:
                return int(found.group(1))
    return 0


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _UPGRADE.replace("{floor}", str(await _floor(db)))


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _DOWNGRADE.replace("{floor}", str(await _floor(db)))


_UPGRADE = """
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_strength_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_strength_valid" CHECK (jsonb_path_match(stats, '!exists($.strength) || ($.strength.type() == "number" && $.strength >= 1 && $.strength <= 100 && $.strength.floor() == $.strength)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_dexterity_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_dexterity_valid" CHECK (jsonb_path_match(stats, '!exists($.dexterity) || ($.dexterity.type() == "number" && $.dexterity >= 1 && $.dexterity <= 100 && $.dexterity.floor() == $.dexterity)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_constitution_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_constitution_valid" CHECK (jsonb_path_match(stats, '!exists($.constitution) || ($.constitution.type() == "number" && $.constitution >= 1 && $.constitution <= 100 && $.constitution.floor() == $.constitution)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_intelligence_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_intelligence_valid" CHECK (jsonb_path_match(stats, '!exists($.intelligence) || ($.intelligence.type() == "number" && $.intelligence >= 1 && $.intelligence <= 100 && $.intelligence.floor() == $.intelligence)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_wisdom_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_wisdom_valid" CHECK (jsonb_path_match(stats, '!exists($.wisdom) || ($.wisdom.type() == "number" && $.wisdom >= 1 && $.wisdom <= 100 && $.wisdom.floor() == $.wisdom)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_charisma_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_charisma_valid" CHECK (jsonb_path_match(stats, '!exists($.charisma) || ($.charisma.type() == "number" && $.charisma >= 1 && $.charisma <= 100 && $.charisma.floor() == $.charisma)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_lucidity_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_lucidity_valid" CHECK (jsonb_path_match(stats, '!exists($.lucidity) || ($.lucidity.type() == "number" && $.lucidity >= 0 && $.lucidity <= 100 && $.lucidity.floor() == $.lucidity)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_occult_knowledge_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_occult_knowledge_valid" CHECK (jsonb_path_match(stats, '!exists($.occult_knowledge) || ($.occult_knowledge.type() == "number" && $.occult_knowledge >= 0 && $.occult_knowledge <= 100 && $.occult_knowledge.floor() == $.occult_knowledge)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_fear_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_fear_valid" CHECK (jsonb_path_match(stats, '!exists($.fear) || ($.fear.type() == "number" && $.fear >= 0 && $.fear <= 100 && $.fear.floor() == $.fear)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_corruption_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_corruption_valid" CHECK (jsonb_path_match(stats, '!exists($.corruption) || ($.corruption.type() == "number" && $.corruption >= 0 && $.corruption <= 100 && $.corruption.floor() == $.corruption)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_cult_affiliation_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_cult_affiliation_valid" CHECK (jsonb_path_match(stats, '!exists($.cult_affiliation) || ($.cult_affiliation.type() == "number" && $.cult_affiliation >= 0 && $.cult_affiliation <= 100 && $.cult_affiliation.floor() == $.cult_affiliation)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_max_health_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_max_health_valid" CHECK (jsonb_path_match(stats, '!exists($.max_health) || ($.max_health.type() == "number" && $.max_health >= 1 && $.max_health <= 2147483647 && $.max_health.floor() == $.max_health)')) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_current_health_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_current_health_valid" CHECK (jsonb_path_match(stats, '!exists($.current_health) || ($.current_health.type() == "number" && $.current_health >= {floor} && $.current_health <= 2147483647 && $.current_health.floor() == $.current_health)')) NOT VALID;
DO $$
BEGIN
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_strength_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_strength_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_dexterity_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_dexterity_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_constitution_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_constitution_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_intelligence_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_intelligence_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_wisdom_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_wisdom_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_charisma_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_charisma_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_lucidity_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_lucidity_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_occult_knowledge_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_occult_knowledge_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_fear_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_fear_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_corruption_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_corruption_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_cult_affiliation_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_cult_affiliation_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_max_health_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_max_health_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
    BEGIN
        ALTER TABLE "players" VALIDATE CONSTRAINT "players_stats_current_health_valid";
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'existing rows break players_stats_current_health_valid: kept, the constraint checks new writes (python -m persistence audit lists them)';
    END;
END
$$;
"""

_DOWNGRADE = """
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_strength_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_strength_valid" CHECK (CASE WHEN NOT stats ? 'strength' THEN true WHEN jsonb_typeof(stats -> 'strength') <> 'number' THEN false ELSE (stats ->> 'strength')::numeric = trunc((stats ->> 'strength')::numeric) AND (stats ->> 'strength')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_dexterity_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_dexterity_valid" CHECK (CASE WHEN NOT stats ? 'dexterity' THEN true WHEN jsonb_typeof(stats -> 'dexterity') <> 'number' THEN false ELSE (stats ->> 'dexterity')::numeric = trunc((stats ->> 'dexterity')::numeric) AND (stats ->> 'dexterity')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_constitution_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_constitution_valid" CHECK (CASE WHEN NOT stats ? 'constitution' THEN true WHEN jsonb_typeof(stats -> 'constitution') <> 'number' THEN false ELSE (stats ->> 'constitution')::numeric = trunc((stats ->> 'constitution')::numeric) AND (stats ->> 'constitution')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_intelligence_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_intelligence_valid" CHECK (CASE WHEN NOT stats ? 'intelligence' THEN true WHEN jsonb_typeof(stats -> 'intelligence') <> 'number' THEN false ELSE (stats ->> 'intelligence')::numeric = trunc((stats ->> 'intelligence')::numeric) AND (stats ->> 'intelligence')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_wisdom_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_wisdom_valid" CHECK (CASE WHEN NOT stats ? 'wisdom' THEN true WHEN jsonb_typeof(stats -> 'wisdom') <> 'number' THEN false ELSE (stats ->> 'wisdom')::numeric = trunc((stats ->> 'wisdom')::numeric) AND (stats ->> 'wisdom')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_charisma_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_charisma_valid" CHECK (CASE WHEN NOT stats ? 'charisma' THEN true WHEN jsonb_typeof(stats -> 'charisma') <> 'number' THEN false ELSE (stats ->> 'charisma')::numeric = trunc((stats ->> 'charisma')::numeric) AND (stats ->> 'charisma')::numeric BETWEEN 1 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_lucidity_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_lucidity_valid" CHECK (CASE WHEN NOT stats ? 'lucidity' THEN true WHEN jsonb_typeof(stats -> 'lucidity') <> 'number' THEN false ELSE (stats ->> 'lucidity')::numeric = trunc((stats ->> 'lucidity')::numeric) AND (stats ->> 'lucidity')::numeric BETWEEN 0 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_occult_knowledge_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_occult_knowledge_valid" CHECK (CASE WHEN NOT stats ? 'occult_knowledge' THEN true WHEN jsonb_typeof(stats -> 'occult_knowledge') <> 'number' THEN false ELSE (stats ->> 'occult_knowledge')::numeric = trunc((stats ->> 'occult_knowledge')::numeric) AND (stats ->> 'occult_knowledge')::numeric BETWEEN 0 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_fear_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_fear_valid" CHECK (CASE WHEN NOT stats ? 'fear' THEN true WHEN jsonb_typeof(stats -> 'fear') <> 'number' THEN false ELSE (stats ->> 'fear')::numeric = trunc((stats ->> 'fear')::numeric) AND (stats ->> 'fear')::numeric BETWEEN 0 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_corruption_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_corruption_valid" CHECK (CASE WHEN NOT stats ? 'corruption' THEN true WHEN jsonb_typeof(stats -> 'corruption') <> 'number' THEN false ELSE (stats ->> 'corruption')::numeric = trunc((stats ->> 'corruption')::numeric) AND (stats ->> 'corruption')::numeric BETWEEN 0 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_cult_affiliation_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_cult_affiliation_valid" CHECK (CASE WHEN NOT stats ? 'cult_affiliation' THEN true WHEN jsonb_typeof(stats -> 'cult_affiliation') <> 'number' THEN false ELSE (stats ->> 'cult_affiliation')::numeric = trunc((stats ->> 'cult_affiliation')::numeric) AND (stats ->> 'cult_affiliation')::numeric BETWEEN 0 AND 100 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_max_health_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_max_health_valid" CHECK (CASE WHEN NOT stats ? 'max_health' THEN true WHEN jsonb_typeof(stats -> 'max_health') <> 'number' THEN false ELSE (stats ->> 'max_health')::numeric = trunc((stats ->> 'max_health')::numeric) AND (stats ->> 'max_health')::numeric BETWEEN 1 AND 2147483647 END) NOT VALID;
ALTER TABLE "players" DROP CONSTRAINT IF EXISTS "players_stats_current_health_valid";
ALTER TABLE "players" ADD CONSTRAINT "players_stats_current_health_valid" CHECK (CASE WHEN NOT stats ? 'current_health' THEN true WHEN jsonb_typeof(stats -> 'current_health') <> 'number' THEN false ELSE (stats ->> 'current_health')::numeric = trunc((stats ->> 'current_health')::numeric) AND (stats ->> 'current_health')::numeric BETWEEN {floor} AND 2147483647 END) NOT VALID;
"""


MODELS_STATE = (
"eJztXW1z2zYS/isYfakzo6iKYju5tNcZO3FbXxM756jXTusOBZGQhDMJqARoWdfL/fbbBV"
    "9E8UURbUqWNfzQVAaxAPgsCO4+uwD/anmBY02Zr7jSTNisczKdupw5l1BGNZei9Yb81RLU"
    "Y/Djy5XbpEWn04KqeEXToWuaoaGYJWM5ZQSHSvvU1lBjRF3FoMhhyvb5NBpH60SQRIToCd"
    "XEpr4PLREqyGAgpxZ3BgP4wyG29DyuNXPaZMb1hHCtiAw0FLMOduZIG3rjYlxju9fiWvzi"
    "41VBODbEiALgCNyVUHBj2DpVpjzp7itF2GjEbN0mShJKfDZl0L8cRdWg52sx4sJR0JUZgc"
    "904AsF4/KZClwNA+MCQKYOSiG0c7gtIx62TOiYcmHuOhD8z4BZWo4ZXPfh3n//A4qheXbH"
    "VPzn9MYaceY6S6o3Q8E2zCVLz6em+O2E+t+bygjq0LKlG3hiSWA61xMpEgmAHUvHTCAEzE"
    "mpWwSuG82RuCgcMRRoP2DJUJ1FgcNGFFCAApQOB7Eoa1nWxWXf+nTWt6xWbkLFEqm5EBXZ"
    "MCdBbVxoZVDw6J3lMjHWE/jzRe/157CjBRZhNezxXydXb388uTqAWs+wSwlzOpz2F9GlXn"
    "jts2mEaho2Y+Bf4H0Dd1oF7rh+PWjHBQu4F4/k1vF+2VsD7pe9UrTxEoK9ANdncJtK5/H9"
    "x6fLi2J8UyIZiB0Oz9h/icvDq5uAuvXtKBDhAjIMuKvhge9gt9+1NqSAFYAjRNiyp9Sfbh"
    "rogw8nv2Z18Pb95amBTCo99k0rpoHTnEJwKaumj1iiUUft6rB9hpBZtEAl7+CK5h4rVsuy"
    "ZFY1kWgn/lGPgrb6JoD7cy6FO4/6XaGZ/vmHs0/9kw8fl9Tz7qR/hld6pnSeKT04zqgsaY"
    "T8ct7/keCf5LfLi7OsFpN6/d9aOCYaaGkJObOok4IoLo1h/Iyv+9FN6gWEBUNq38yo71i5"
    "K7Iny+rmL3k9L1tCBR0blSG4OMysQflWCg1YG9Ok3Oxc1FrP3rTj+uvamSSRIL6cdci5Rv"
    "OLeYpQn4Hlhb8ttLoodKXAAoNaYAfOBJiMwzlUOLhedHoNnXLn2WBQYHhuqCO0RM/ELfel"
    "8JjQkeXqTxVbdKgItuqgpQpmp5QeOQCTEv5vjN1n3xB44fGpEU/JDJkrxfhaaIm2MVzkeo"
    "6C4a9QFEzjCbcnxKNzqI/1Lj6+NfYtjy1rRYQkI+kzPhbkhs0fap0mIyw0Un/++fxdyXKV"
    "kcssWEHAnQ5Kb8ZiTb1HTE/4z+FjvERCCypce9Krirn11XaqkoFvsxCxCuZqRmxTVusjOg"
    "nH6/gI2eU+5SIcZ41WfOqrzu+0zAPmdgTjjgD9kImcMjnDpa7KpE2J3GvC7haMy/O1d3S0"
    "xoSFWqUz1lxbxjh5K1SZs0tCzaRdAtSV9o0F721dabFdltoeQwC1sWvmbOqVtukl16ZTau"
    "NkVK7UKg/5udAldkVOMIM63MGmUO91N4X2GIfwvPfi8NXh65fHh6+hihlmUvJqhQLOL/oZ"
    "dGdg/U205XKPF/iZpdhmxe6F7JcXh+0SXjVD6zCbzu/hvqflanDen8wSvEu+egxSzllPK5"
    "i6rpwxx/KlywoWpnLeLCe4G/QZ9rc39JnHNEWHqYpe0jK7oZKG0Xw0RnO77579ojTTWg+m"
    "zj21vizZaH1XtF7wcjSj3zUi+1wz7zzibVuruOyliu216OxlUng9SvtSMEMsd8gvE+bjb8"
    "JVG/5DDjlkiVDpbRIzRs8GA2KyIaCKL2eGQga8jTCDLvJkdv1dII3dD9syhDEXt0xo6c8J"
    "LvEoO3XpHGnpUDTFpuMvqKuIQe0NoVHVr9SilWvBw2wMeCB9JNMXgyR/J19FAuTk4l0yZC"
    "j/Niwn3PluMAizNoS5b2JTIaRGypvDwPVMYp+gIYIJHajrpAuTTjKRMKNi7p077WSMhgwm"
    "0oeCxQ2ZMsweYXd6Tbb899bihszDGJOBf5Ty6EtTqyI7ViS7d7kfx4drcAzHh6UcA15aTa"
    "hPfakltlsR/qzcHlLqve5aeTfdFXk33WJWvWr4YllqD3Nuthm++BLMm53PjwjyRjh3MKZ4"
    "nIu5JqOWFmnYtDyb5krbJGtaxqq4K3AmVnLvOdkNBY/2bSb/GVATCqowk9Mi22PcXzyReQ"
    "zNO1XXhiWZZnHIgzpy6VhZ8pb5PncKjIhyyi8vuRvE315xsUO4exhP9aBpTnD/Vu36E6up"
    "1oFgmDRWBviKyESB7G48EPvFhAdKS88yf1Z4HDJi+/cwbMSEaSJBOzf/pc/HXFhhAmIlZz"
    "QruH/PQF3sVg7t+zwHBaLN49AERpsQWRMYbbT+pAOjH8DnRTu/9aXAaFKxvX5g1ItkKgRG"
    "UQQ3T8sogtnGbdQMpp8T7+NOb+E2G8RRxMEQ5wEVhAYO/HKZM2b+s+LAaP1dPGC3TBEJf8"
    "rHpRxQIQFfQP5EK8/uhvJC6udvvd7Ll6963ZfHr48OX706et1NOKD8pVVk0On5D8gHLT3O"
    "MUFUHuDbzRjrLgX66jdDRz74rvcL9RWI7mEoqv54Xwq3anM8J7iHcG+EbIAX//2meE5wDx"
    "Gvf4InqFWb3hmxPYR6I5MbrHJVFLhasVsvkdhDjOun7rd8wM9O82A1nvCTcnDQnr+Hx52W"
    "a/ztXfG3n8qJGh9NSmlrlacdVWmv5WNHGbfrOdcncUarDasI1GR+0RkYuTqY9zsYYBAQj7"
    "zgmCRrqEsCgoE5kQLnhTkB443tUqXeDP7nSYe5qmOEojv6ZBrokB8ZdfWkTX79iHnC1+g9"
    "aQK1NVXYqRibXGWqpcdt6rpz9Mg//fP9N9CtouC2z3xwuxS47nBphp45uutYMxw0yDtEcQ"
    "DqWphD24b/xlPXZtC6Kyl6+AeK4WEeeNtfO8zmCo+8+7rb7faeYwfPQwCeO9zX8+ehgjse"
    "nqTRIX1JPHrDDCNwLWB+Kg6KIOwWM5ZjRzCkpgkazjBmdDyHVDGTU+0zj3lDTJHGod1SN2"
    "DmJLnU6PAcu4cyCuEdVNzovSTUnLxR9eSNQFVGPCVSJ947u62zws76qvHwBwXCd+4dvGT9"
    "HK2TZn1UnmV9lEuytgPfx7yOe5y5USC6f4TXhjwmNaUzcR/QC0T3z8jfCOjG/qgS5U4EMg"
    "CnDbQy22YLQe+yrvcm/s3uAGmOMFtTyUWR8laFRgrFt5d5vOGjPrYSKUnl2YNZ6+bxLwU/"
    "qd+kemeh5Ar8VI8XEGanUrqMipL4UkosA+oQ5DaFalKy3QXl9PLy/dKCcnqemaMXP384Pb"
    "s6eGFWF6gEjmAx3k0aTfnU3i+CZ2nBokpbGLO/LfAdVqs9I9ro/SnpferLEVNI4xQa1uUb"
    "7bJyzYaacCnNsaZFWOeB/j48QfYnNjd4p89RyCCb4zyXWn1agH+Op1VcuhiiT2cJO5efbf"
    "ADrHkWvsOu4CG4On8L6D82Q71QxUqWeklj6zDVicD6bHUiQg4SOpoYivnZ4nsfhj/G7wFw"
    "P8w0M8dPhB/bUIUEd03N1pzy9eB8r3q42B1fmtorKNjHJQ136FiM+inD9LByCPfZXcnUzY"
    "ht8azTRyBE+me/9lcTIonV9P7y4oe4epYlye1nvZW+VbzPvRz4jFgDfGXgcf230ut/VRox"
    "J9xsl6mdLvQYRnwxTmxFb+YqWiqWbtRUu5qQx7qlPAQpp6AvUmBp0Y3RYLm3dVzwpEiwCv"
    "ku2XSBIqo9Evz+pyvm0pK3eHn+yn74cZ+34nZdSem1VjlcpkJ7LVcL44RrO1lYuUPOnfAb"
    "NxMOGvPtCS6KJAQMXKHAnuBhd4MBo76eWNS/mVAvPFAd1k9NfR54YXRyJDGHpNt9Ufx9nc"
    "11FiYpsTtukpQ8OsU0JQdev9EWHmkybqLD/YjZvENhGFp2SDhho6/yLL7/Y2oq84Wc+bVY"
    "/kBO2B5PzjOMU38cI6cIjEPpcN/QDA9MFJghZDKX8GuUeIbiQz3IR/hexi57PDVGj3fVv3"
    "xsXnHz0frGyXwkXwcMAFFpZicCezi169/u9h9ZDd24fgPuGuCqYGhVBTgt04C8BsjGrqri"
    "WicCjTdduzdNNYxnGOiKXxpZkmrUUotadm17yQnzuT1prfIjoyrttTxJuqj8JVeyXC+7Fi"
    "d7IucibCxMdovKrrZ5MyWyh+/LjTgz+HRVQDiqvofovuiudU58d8U58d38FobwgxJVXoAp"
    "ke2//R5nw81+vOc+/x/X/6C0"
)
