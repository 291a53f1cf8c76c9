#!/usr/bin/env python3
"""Requests per second of the JSON API: reading a page of contracts, and entering contracts.

    api_rate.py BASE_URL CUSTOMER_ID SECONDS CLIENTS     (the bearer token on standard input)

Each of CLIENTS threads keeps one HTTP/1.1 connection (Python's http.client) and sends
requests one after another for SECONDS: first `GET /api/v1/contracts?limit=50`, then
`POST /api/v1/contracts` (each with its own Idempotency-Key, so that the key's record is in
the figure). Every answer must be 200 or 201. Prints
`RESULT api read_per_s=.. create_per_s=.. clients=..`.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid


def run(base, token, seconds, clients, request):
    url = urllib.parse.urlparse(base)
    counts = [0] * clients
    errors = []

    def worker(index):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            method, path, body, expected = request(index, counts[index])
            headers = {"Authorization": f"Bearer {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
                headers["Idempotency-Key"] = str(uuid.uuid4())
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != expected:
                errors.append(f"{method} {path}: {response.status}")
                return
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        sys.exit(f"api_rate.py: {errors[0]}")
    return sum(counts) / elapsed


def main(base, customer, seconds, clients):
    token = sys.stdin.readline().strip()

    def read(_index, _n):
        return "GET", "/api/v1/contracts?limit=50", None, 200

    def create(index, n):
        body = json.dumps(
            {
                "customer_id": customer,
                "title": f"Bench {index}-{n}",
                "start": "2027-01-01",
                "end": "2027-12-31",
                "amount": "100.00",
                "currency": "EUR",
            }
        )
        return "POST", "/api/v1/contracts", body, 201

    reads = run(base, token, seconds, clients, read)
    creates = run(base, token, seconds, clients, create)
    print(f"RESULT api read_per_s={reads:.0f} create_per_s={creates:.0f} clients={clients}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
