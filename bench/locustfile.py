"""Load profile: people opening the map page and switching indicators (used by bench/run.py).

TARGET=ours|baseline picks the callback payloads; the page loads are the same requests a browser makes.
"""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, between, task

TARGET = os.environ.get("TARGET", "ours")
INDICATORS = ["origin12_pct", "bg_ro_pct", "bg_pct", "ro_pct", "project_housing_pct", "non_german_pct"]
PAYLOAD = json.loads(os.environ["SWITCH_PAYLOAD"])  # a callback request with an "@INDICATOR@" placeholder


class Planner(FastHttpUser):  # the lean client leaves the 2 cores to the server under test
    wait_time = between(0.5, 1.5)

    @task(1)
    def open_page(self):
        self.client.get("/", name="GET /")
        self.client.get("/_dash-layout", name="GET /_dash-layout")
        self.client.get("/_dash-dependencies", name="GET /_dash-dependencies")
        if TARGET == "ours":
            self.client.get("/geo/bezirk.geojson", name="GET /geo/bezirk.geojson")

    @task(4)
    def switch_indicator(self):
        body = json.dumps(PAYLOAD).replace("@INDICATOR@", random.choice(INDICATORS))
        self.client.post("/_dash-update-component", data=body, name="POST callback (indicator)",
                         headers={"Content-Type": "application/json"})
