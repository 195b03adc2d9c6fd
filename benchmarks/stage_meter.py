"""Run one stage command and append its wall time and peak memory to a JSON-lines file.

Usage: python stage_meter.py RECORD STAGE COMMAND...

scale.py puts this in front of each stage's ``cmd`` in a benchmark project's
dvc.yaml, so one ``dvc repro`` gives the figures of every stage. It imports only the
standard library: its own start-up adds about 20 ms and its memory is not counted,
because the peak is the child's own ``ru_maxrss`` (with any process it waited for)
as ``os.wait4`` returns it.
"""

import json
import os
import sys
import time


def main() -> int:
    record, stage, *command = sys.argv[1:]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(record, "a", encoding="utf-8") as handle:
        line = {
            "stage": stage,
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        }
        handle.write(json.dumps(line) + "\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
