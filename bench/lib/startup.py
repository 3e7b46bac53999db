#!/usr/bin/env python3
"""Starts `samlet serve` RUNS times (pinned to core 0) and times exec to the first 200 on /ready,
polling every 0.2 ms over a raw socket. Usage: startup.py BIN CONFIG PORT RUNS"""
import os
import socket
import statistics
import subprocess
import sys
import time

bin_, config, port, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
req = f"GET /ready HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()


def ready() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(req)
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


times = []
env = dict(os.environ, RUST_LOG="warn")
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.Popen(["taskset", "-c", "0", bin_, "serve", "--config", config],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while not ready():
        if p.poll() is not None:
            sys.exit(f"samlet serve exited with {p.returncode} before it was ready")
        if time.perf_counter() - t0 > 30:
            sys.exit("not ready after 30 s")
        time.sleep(0.0002)
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate()
    p.wait()
    time.sleep(0.2)
times.sort()
print(f"start to ready over {runs} runs: median {statistics.median(times):.1f} ms, "
      f"min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
