"""An equipment container's player is a real foreign key (hand-written; no model change).

Items already had one for every owner (migration 3), but the container an item is worn in
named its player only in ``entity_id``: ``create_container("equipment", entity_id=...)`` of a
deleted player succeeded, and one made while the player was being deleted outlived it. Now
``equipment_player_id`` (``entity_id`` of an equipment container) references the player, ON
DELETE CASCADE: the database refuses an equipment container of a player that does not exist,
and deleting the player deletes it with the items inside (the rule ``delete_player`` already
followed), whatever the interleaving.

Existing equipment containers whose player is gone are removed here, by the rule the
ownership migration (3) used for such items: what they hold moves to the room
``mud_lost_and_found`` first (created when needed), with an ``orphan_rehomed`` ledger row
each, so nothing is lost.

Adding a stored generated column rewrites ``containers`` under an ACCESS EXCLUSIVE lock:
run it while the game servers are stopped, as the other migrations.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
INSERT INTO "rooms" (room_id, name, description, plane, zone, sub_zone)
SELECT 'mud_lost_and_found', 'Lost and found', 'Items whose owner no longer existed.',
       'unknown', 'unknown', 'unknown'
 WHERE EXISTS (
    SELECT 1 FROM "item_instances" i JOIN "containers" c ON c.container_id = i.owner_container_id
     WHERE c.source_type = 'equipment'
       AND NOT EXISTS (SELECT 1 FROM "players" p WHERE p.player_id = c.entity_id))
ON CONFLICT (room_id) DO NOTHING;
WITH orphans AS (
    SELECT i.item_instance_id, i.owner_id FROM "item_instances" i
      JOIN "containers" c ON c.container_id = i.owner_container_id
     WHERE c.source_type = 'equipment'
       AND NOT EXISTS (SELECT 1 FROM "players" p WHERE p.player_id = c.entity_id)
),
moved AS (
    UPDATE "item_instances" i SET owner_type = 'room', owner_id = 'mud_lost_and_found',
           position = NULL, updated_at = now()
      FROM orphans o WHERE i.item_instance_id = o.item_instance_id
    RETURNING o.item_instance_id, o.owner_id
)
INSERT INTO "item_movements" (item_instance_id, from_owner_type, from_owner_id,
                              to_owner_type, to_owner_id, reason)
SELECT item_instance_id, 'container', owner_id, 'room', 'mud_lost_and_found', 'orphan_rehomed'
  FROM moved;
DELETE FROM "containers" c
 WHERE c.source_type = 'equipment'
   AND NOT EXISTS (SELECT 1 FROM "players" p WHERE p.player_id = c.entity_id);
ALTER TABLE "containers" ADD COLUMN "equipment_player_id" UUID
    GENERATED ALWAYS AS (CASE WHEN source_type = 'equipment' THEN entity_id END) STORED;
ALTER TABLE "containers" ADD CONSTRAINT "containers_equipment_player_fkey"
    FOREIGN KEY (equipment_player_id) REFERENCES "players" (player_id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS "containers_equipment_player_idx" ON "containers" (equipment_player_id);
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
ALTER TABLE "containers" DROP COLUMN IF EXISTS "equipment_player_id";
"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfYl9o6iO83ruy4yduK2viZ1LnEundYeCSMhCTRIKAVrW9XK//XYBkq"
    "JISiZlSpZ5/JBWJrEAuACBZ3cfLP/qeKFjjVkguVTMt1nvcDx2OXPO4BpVXPidA/JXx6ce"
    "gx+3F+6SDh2PC4riHUUHrq6GGjFLxHJSCw6kCqitoMSQupLBJYdJO+DjqB+dQ58kIkSNqC"
    "I2DQKoiVCf9PtibHGn34c/HGILz+NKMadLJlyNCFeSiFDBZdbDxhxhQ2vcv6yx3gv/wv8c"
    "4F2fcKyIEQmKI/BUvoQHw9qp1NeT5h5JwoZDZqsukYJQErAxg/bFMCoGLV/4Q+47EprSPQ"
    "iYCgNfQr8CJkNXQce4D0qmDkqhaqfwWFrc1EzoJeW+furQ519CZilxyeB+AM/++x9wGapn"
    "N0zGf46vrCFnrjM39LorWIe+ZanpWF9+PaLBj7owKnVg2cINPX9OYDxVI+EnEqB2vHrJfF"
    "QBc1LD7YeuG82R+JLpMVxQQciSrjqzCw4bUtACXEBp04nZtY5lnZ6dWx+Pzy2rk5tQsURq"
    "LkSXbJiTMGzcV1JrwaM3lsv8SzWCP5/sv/pqGprpwhTDFv91+OH1z4cfdqDULjYpYE6baX"
    "8a3do3977qSqiiphqt/pm+r+BJq6g7Ll+PtuMLM3XPXsmN6/vpfgl1P91fqG28hcqeKTdg"
    "8JhS5fX7j49np8X6TYlkVOxweMf+Q1xu7q5D1Z3vhqFvFpBByF0FL3wPm/2hs6YBWKJwVB"
    "HW7En5xU0reufd4a/ZMXj99uxIq0xIdRnoWnQFR7kBwaWs2njEEu1w1D4cdsBQZRYtGJI3"
    "cEdxjxUPy7xkdmgi0V78o54B2uhOAM/nnPnuNGp3ycicn7w7/nh++O793PC8OTw/xjv7+u"
    "o0c3XnRWbIkkrI55Pznwn+SX47Oz3OjmJS7vy3DvaJhkpYvphY1EmpKL4aq/ErbvfDq9QG"
    "hBcG1L6a0MCxcnfEvlhUNn/L2/eyV6hPL/WQoXKxm1lA+Vr4CnStocli2DkrVQ5v2nH5sj"
    "iTJBIkEJMeOVEIv5gnCQ0YIC/8bSHqotCUBAQGpQAHTnyAjIMpFNi5mDV6AY1yZ7ffLwCe"
    "a2oIkeixf80D4XvMVxFyDcaSzRqUBGt1EKkC7BTCIzsAKeH/Guzufktgw+NjLZ6SGTBX+J"
    "cXvhKIjeEmV1MUNL+MKEDjEbdHxKNTKI/lTt+/1viWx8haEl+QoQgYv/TJFZveFZ0mPSwE"
    "qZ8+nbxZsFxl5DILVhhyp4fS60GsqX1Et4T/eXYfm4hBUGbtSa8q+tGX41QpwsBmRmMV4G"
    "pGbF2o9R6NhBdlbITscp8yEV5kQSu+9VXnd1rmDnM7UuOWKPouEzkFOc1SV2XSpkRWmrDb"
    "pcb5+br//HmJCQulFs5YfW9ex8muUGXOzgm1k3ZOoa6wryzYt1WlxXZeanMeAiiNTTNnXV"
    "vaupdcm46pjZNRukLJvMpPfLUAV+QEM1qHJ1iX1vf31qXtS+zC4/0nz14+e/X0xbNXUER3"
    "M7nycskAnJyeZ7Q7AfQ3UpbLPV5gZy7UbVZsJc3evjhs1uFVs2odZtPpCuZ7Wq4G4/3BLM"
    "HbZKvHSsoZ6+kBpq4rJsyxAuGygoVpsd8sJ7gd7jNsrzHuM48pigZTlXFJy2zHkLQezXvz"
    "aG5272mWSzM96uHYWXHU5yXbUd+WUS/YHHXvt82RfXwNZuxrUHno3eLMni/ZLeXQZihj2Z"
    "FQaa82dsEhMhzg9QELEppBqAbi5gDdswGzGb9mhqWgm0E/sQiQCzFUINLvSw7d0Z7eIof2"
    "Wtq4g2dY/z/38i+2lePyLWthFdZCPG55jR/xy4UWXVpqc3byms3kv+/vP336cn/v6YtXz5"
    "+9fPn81V5i1OVvLbPujk5+QgNvblDyFl8LcJq21T2UmK3ewN4wF5b0YHr7VpeUrLLVOUaI"
    "s/JMQS1IKIl3STKiEv75jsucA9yDROAkOw7S+My9ICLYMaeQJ1hPrQX72e8dO4UBzG6JS+"
    "IfZTe6qotu2eU2mobbu8ttcLldvPGlB68s1EjLNJC2VyPgSAVBkxej0mSfE9scxGjItE/7"
    "lfU6vBLOyMq2SKNFGtWQxoli3klEhloKNOYKlsMZ80yrcijjzGeardUjn2EXx9+Eyy78Q2"
    "KWoV7goHdJTMPY7feJPmIARQIx0bwsULgWZtBEHnLU3wRyw85NXZqFxX2ENCKYEvSbouzY"
    "pVPkehnRFEUNf2lrXWvtAGCQKfpIzmq58Lkx7OGFDJChNusk+Z48igTI4embpMtw/TtznX"
    "Dnh37fHIXw9XMTm/q+UMgj49BxNRHYJowQwVMSONZJE/qMxkjAjIoJbdzpJn3UDCsiAoPd"
    "ogfS1/BIBrtRJR0Nv3dmD6Rfxphh88diZJaeWhUpJ0WyjXNNvHhWAii8eLYQJ+Ct5fBsHA"
    "glsN6K6s/KNZCntr9XCqXtLUFpe8VUtaqcwHmpJiLiDXICb1PzeufzPSp5LUQ2AFM8PuBY"
    "kqaSFmkpKnlTwhW2PgFpaVRxU2BOLCW05WTXxMhs2kz+ElLNr6wwk9Mim7OdnzyQeQzVO1"
    "XXhjmZdnHIK3Xo0ktpiWsWBNwpABGLeTR5ye1g0zSK4DSAp4f+VGci5wSbt2rXf1qZKhX6"
    "DE9iLVL4Erpfgex2vBDNopeFUgnPqko2yIg172VYC4Rp6ZVbN/9FwC+5b5lTfZWM0axg89"
    "6BurxbOW2v8h4UiLavQ/3bQUvG+T8JkbVs4yaP+kNhG2O88x3YvIjzO7cFRpOC3fKBUS+S"
    "qRAYRREk/4oogtnF3GTMR3ZUlBwtnRdNZ11DEQdDnDvUJzR04JfLnEsW7BYHRuttAgOjhy"
    "bq+EiSIQ+k0hFULjWRS6/MWA+myWBUwq/vyUW8YF90TOKLKP3bYGrSv6HJhXq78HXrsNGx"
    "QOkOHOgMGIHwHmt/PNZ6+untW10LNmfaN/eipHFKmLI98oFhUJNjIg6a9FinBuGYsE5HQp"
    "GIFugWdH0u9AQqTJ6CYUo57JIy+USCbqQbEUDPoMPQIR047Wkt7WBc2R4x+0qa2PIQyjHk"
    "8enmd+9K027Za/fJXtvOCPU2hUnrB/H4ZlqrBUoLRJtnNtUfLE2prdoUzwk2T9trcdQAaF"
    "ptgucEGxinrn9+J1qrNrszYg1U9Vomt8GAVRQ9k2igjusPe2w44/BWL89r4dJrvL+CtyIt"
    "1/oqtsVX8ZBI3O9jWmXnNmfFrGS3vLciYW2WdFd8Rts8JhxzeaCNYuyVpkCbfEOY1FJbte"
    "g8AGMHDWG8OxITqDbIOyjqqBRdEm8FRYeGNuQpmYjAhT+E6xifQeZ5e3/CDtPv7xKXXzFN"
    "gjYVQokhkxJT7ffIMZrtF77pWGS46Z5J7UnZyaYd7aVZsJhuHgnWqeSdRAnjE9CjsNtFp4"
    "ST5lk/QrZ6Om0T+hJEiEzy+Dr5G4lpRui7GGpt6Uyod/UsbBf1d4tY1zUyfxd7Fu73+P19"
    "7yTrR6Hm7clr+JbsaeWcZw/kpH1trDO9AusHzenzSAiXUb9Yp3NyGbUOQHBdek2ubDZken"
    "R29nYO8BydZDyOp5/eHR3D2qFnMhSChbxY4/iCaO1VmMFzMi0fNafSlh2zDXSAbYPdZ/oE"
    "tM7AsBR0p8uVg9wmQ4M5YV0+PKilunHen1s+l4RhNX320VQ0YLI4IHjXShFvnyjCbuA5AX"
    "4ONXYWYAribx3BM0LJV6C+BQBrnt8gYweTFw8xvz3UiyEyaOjCn2VDko+gtcdOOHa5HUUT"
    "o2PRUw2rMRpJpTnZ2MbUHnRMLZ4W+TFYkvo6JbPZTxGscTiWaLZC5mujmqqBhHmpBhoV9c"
    "clx3TqClowbRfDh5RIix5qQQ8Pl0zYfoypMZ7a95r/sxQtRkXKAcUor0Q5jHgY522wYXGH"
    "kqzAxVpQBhFcv4+8Kxl7KvU7RUAw1B8zwnmhP550YLtUyoP+fz0BGEz2tFD0RB91BT3yM6"
    "OuGnXJr+8RCl6gRxTxoqsAQ0Kj/qUGkFQJD/CcizjRJx//+fZbaFbS6whjSgMhJ4gfEXhi"
    "SdNpkHeIzn6IBDFGxOBP/GDnBGp3jdt3RzL8DhQ+9jcOs7l24X6zt7e3/xgbeGwU8NjhgZ"
    "o+NgPc8/AjTD1yLohHr5jGrRc+zE/JYSBi0lbs99VrZuxdRjAzoJJp3lvAPOYhZtWdvqZu"
    "aGBtqnf4CdQ7+2f1E1QESnNC7Uebqn60KZSVNZ4SqVPf97uB1ANNWx93AkeflwkpPF8cUX"
    "ieSyVih0GAGH6FzzUViDaPmLgmbosc04m/itILRJtHx1iL0jX+qGJ2JQIZBacB2iJsswFr"
    "rEw3GmOksZsxpqdFCvRYcL9oIJe53grFGxOg23CSShcgrlshoJSUb4NJWVVyCTarxwtojk"
    "sDommxNh5aIR76sHw9LS1vdWfP3IJFpbIwOHVdYEcsH/aMaDvuD2ncYZkEWMRwKCqvrynB"
    "doWtsMJGelstfzWrdYXdMhPngbxYBWey82/WjO9aaL4uTtqYlWuTs5lXKBebKNJ1XtE/Gp"
    "bwL2yq9Z3OyZ3RbC6yMFfrw1L413haxVdnXQzoJPGB52cb/DCrDN79AG/Bh5PXoP37jgPN"
    "hmJpLGhuxMrEg2ak9NIxoUSE7CRBH6IDObs6GqF54zpKE7AvIQ9M1gLN42HDIbNVAXOovm"
    "prJuvcmamz9dyQeuzVbaWfbxHZv37HfLpbOQ2fs5sFUzcjtsGP0d+Dq/H8+Nfz5a7GBDa9"
    "PTv9KS6e9T/mcqNei8Aqzpm8WPEZsVbxlRWP67+VXv+rOutzwi1bqnZHvMeQV4FsDCvama"
    "uMUrF0O0y1DxN6iK8pd1c4bZMVXZv7I7dbxxcelPOjAqssS8opCmJFgj/+8oG5dMEuvpgl"
    "1gw77utGzK4PQnidZQaXLtAtZWrpk8BljSws3CMnmB8sYGTEYcQCe4SLIjEKA1MotEd4jq"
    "LfZzRQI4sGVyPq2VxNLQnrp6IBDz3DARgKZGrt7T0p/l70+hozVEB2wzUV0KNjJAM6sP1G"
    "6eCE5rVFH4oiOhEchW4o0SNmwmrzbvaxqKikJDYN8Pw05m9bdAj6ICHYOdEpbH2mJDpDgh"
    "/f8pGHl+SLw+9x3dWCXIWsUTczZossnho5GttqX963X3H9nJjWyLwnWwcAgF9pZicCDZza"
    "9R+y+beopt24fKvcEsqV4cCqquC0TKvkEkrWuKqKaZ0ItNZ07dY0VdCfQahYpRGZl2qHpZ"
    "Zh2bZDXIcs4Paos8yOjIp0S1mSdFb4NlNy8bhsW5zsgZxoX1uY7BoHu1oyy5RIA/fLtRgz"
    "+HZV0HBUvIHafbJXKvPY3pLMY3v5g0Lm4+RVNsCUyOZ3v/thcjVjn/v6PwVHIAI="
)
