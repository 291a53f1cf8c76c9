#!/usr/bin/env python3
"""p95 response time of the web app's pages for a logged-in user, with Python's urllib only.

    web_p95.py BASE_URL EMAIL REQUESTS PATH...     (password on standard input)

Logs in the way a browser does (GET /login for the pre-session cookie and the form token,
then POST /login), then for each PATH makes one warm-up request and REQUESTS timed ones,
one after another. Prints one line per page, `page PATH p50_ms=.. p95_ms=..`, or
`page PATH missing` for a 404, and last `RESULT pages=N worst_p95_ms=.. worst_path=..`.
"""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main(base, email, requests, paths):
    password = sys.stdin.readline().rstrip("\n")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]*)"', page)
    if not token:
        sys.exit("web_p95: no form token on /login")
    form = urllib.parse.urlencode({"csrf": token.group(1), "email": email, "password": password, "next": "/"})
    login = urllib.request.Request(base + "/login", data=form.encode(), headers={"Origin": base})
    try:
        status = opener.open(login).status
    except urllib.error.HTTPError as answer:
        status = answer.code
    if status != 303:
        sys.exit(f"web_p95: login answered {status}, not 303")

    worst = (0.0, "")
    measured = 0
    for path in paths:
        try:
            opener.open(base + path).read()
        except urllib.error.HTTPError as answer:
            if answer.code == 404:
                print(f"page {path} missing")
                continue
            sys.exit(f"web_p95: GET {path} answered {answer.code}")
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            opener.open(base + path).read()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p50 = times[len(times) // 2]
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"page {path} p50_ms={p50:.1f} p95_ms={p95:.1f}")
        measured += 1
        worst = max(worst, (p95, path))
    print(f"RESULT pages={measured} worst_p95_ms={worst[0]:.1f} worst_path={worst[1]}")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3]), sys.argv[4:])
