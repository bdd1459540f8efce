# SPDX-License-Identifier: GPL-2.0
"""json: the demo's workload (make demo, bench/vm_e2e.sh): build 20,000 small
documents, dump them to one JSON string, parse it back and index it.
Prints the demo's line, then RESULT wl=json time_s=<the work, not the
interpreter's start-up>."""
import json
import random
import time

t0 = time.perf_counter()
random.seed(1)
docs = [{"id": i, "name": "item%05d" % i, "tags": [str(random.random()) for _ in range(8)]}
        for i in range(20000)]
blob = json.dumps(docs)
back = json.loads(blob)
index = {d["name"]: d for d in back}
t = time.perf_counter() - t0
print("python3: %d documents, %d bytes of JSON, %d index keys" % (len(back), len(blob), len(index)))
print("RESULT wl=json time_s=%.6f" % t)
