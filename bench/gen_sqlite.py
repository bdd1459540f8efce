# SPDX-License-Identifier: GPL-2.0
"""Generate the sqlite benchmark database (fixed seed) and the query script.

usage: gen_sqlite.py DB SQL SCALE
The database is built once per runner invocation (not timed); the timed
run is `sqlite3 DB < SQL`, which sorts, groups, joins, builds temp indexes
and updates inside a transaction that is rolled back, so every allocator
sees the same database.
"""
import random
import sqlite3
import sys

db, sqlpath, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
n = max(2000, int(120000 * scale))
rnd = random.Random(777)
con = sqlite3.connect(db)
con.executescript("""
DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS orders;
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, city TEXT, bio TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INT, item TEXT, qty INT,
                    price REAL, note TEXT);
""")
cities = ["".join(rnd.choice("abcdefghij") for _ in range(6)) for _ in range(300)]
users = [(i, "u%07d" % rnd.randrange(10 ** 7), rnd.choice(cities),
          "x" * rnd.randrange(10, 300)) for i in range(n // 4)]
con.executemany("INSERT INTO users VALUES(?,?,?,?)", users)
orders = [(i, rnd.randrange(n // 4), "item%05d" % rnd.randrange(20000),
           rnd.randrange(1, 20), rnd.random() * 100,
           "".join(rnd.choice("qrstuvwxyz ") for _ in range(rnd.randrange(0, 80))))
          for i in range(n)]
con.executemany("INSERT INTO orders VALUES(?,?,?,?,?,?)", orders)
con.commit()
con.close()

with open(sqlpath, "w") as f:
    f.write("""PRAGMA cache_size = -200000;
PRAGMA temp_store = MEMORY;
.output /dev/null
SELECT city, count(*), avg(length(bio)) FROM users GROUP BY city ORDER BY 2 DESC;
SELECT u.city, sum(o.qty * o.price) AS s FROM orders o JOIN users u ON u.id = o.user_id
  GROUP BY u.city ORDER BY s DESC LIMIT 20;
SELECT item, count(*), group_concat(note, '|') FROM orders GROUP BY item ORDER BY 2 DESC LIMIT 50;
SELECT * FROM orders ORDER BY note, price LIMIT 10 OFFSET 1000;
SELECT count(DISTINCT note) FROM orders;
SELECT name, upper(bio) || lower(city) FROM users ORDER BY bio DESC, name LIMIT 100;
BEGIN;
CREATE TEMP TABLE big AS SELECT o.*, u.name, u.bio FROM orders o JOIN users u ON u.id = o.user_id;
CREATE INDEX temp.big_item ON big(item, price);
UPDATE orders SET note = note || item WHERE qty > 10;
DELETE FROM orders WHERE qty < 3;
SELECT item, max(price) FROM big GROUP BY item ORDER BY 2 LIMIT 10;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
  SELECT count(*), sum(length(printf('%08d-%s', x, hex(x)))) FROM c;
ROLLBACK;
.output stdout
SELECT 'RESULT wl=sqlite check=' || (SELECT count(*) FROM orders);
""")
