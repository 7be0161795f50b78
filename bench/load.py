"""A small load client, run as its own process: C threads, each with a keep-alive connection,
send GET (or GET then POST of the form) to one path for S seconds, as a TLS proxy in front of the
server would (X-Forwarded-Proto: https). Prints JSON: requests per second and the status codes seen. Usage: python bench/load.py HOST PORT PATH METHOD C S COOKIE"""

import html
import http.client
import json
import re
import sys
import threading
import time
from urllib.parse import urlencode


def form_fields(page: str) -> list[tuple[str, str]]:
    """What a browser would post back unchanged: text values and the checked boxes."""
    fields = []
    for tag in re.findall(r"<input[^>]*>", page):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        kind, name = attrs.get("type", "text"), attrs.get("name")
        if not name or kind in ("submit", "button"):
            continue
        if kind in ("radio", "checkbox") and not re.search(r"\schecked\b", tag):
            continue
        fields.append((name, html.unescape(attrs.get("value", ""))))
    return fields


def worker(host, port, path, method, cookie, until, counts, lock):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
    while time.perf_counter() < until:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), "X-Forwarded-Proto": "https"}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        status = response.status
        for header in response.headers.get_all("Set-Cookie") or []:  # the CSRF cookie, a new session key
            name, _, rest = header.partition("=")
            jar[name.strip()] = rest.split(";")[0]
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), "X-Forwarded-Proto": "https"}
        if method == "POST" and status == 200:
            data = urlencode(form_fields(body))
            conn.request(
                "POST",
                path,
                body=data,
                headers={
                    **headers,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"https://{host}:{port}{path}",
                },
            )
            response = conn.getresponse()
            response.read()
            status = response.status
        with lock:
            counts[status] = counts.get(status, 0) + 1


def main(host, port, path, method, concurrency, seconds, cookie=""):
    counts, lock = {}, threading.Lock()
    until = time.perf_counter() + float(seconds)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=worker, args=(host, int(port), path, method, cookie, until, counts, lock))
        for _ in range(int(concurrency))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done = sum(counts.values())
    print(json.dumps({"requests": done, "per_s": done / elapsed, "statuses": counts}))


if __name__ == "__main__":
    main(*sys.argv[1:])
