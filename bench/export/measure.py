"""Runs a command and prints its wall time and the peak resident memory of its process tree
(the largest child's, from getrusage) as JSON.

usage: measure.py CMD [ARG...]
"""
import json
import resource
import subprocess
import sys
import time

t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": rc, "seconds": round(wall, 2), "peak_mib": round(peak)}))
