#!/usr/bin/python3
"""Writes requests.jsonl: a day's per-request cost events of an inference service on one
GPU node, as a structured JSON logger writes them (one object per line, nested fields,
RFC 3339 timestamps). Seeded: the same bytes each run."""
import json
import random

rng = random.Random(7)
units = ["search", "ads", "support"]
models = {"llama-3-70b": 0.0021, "mistral-7b": 0.00031}  # GPU-seconds per token, roughly
with open("requests.jsonl", "w") as out:
    for i in range(48):
        hour = 8 + i // 6
        model = "llama-3-70b" if i % 3 else "mistral-7b"
        prompt, completion = rng.randint(50, 2000), rng.randint(20, 600)
        gpu_seconds = round((prompt + 3 * completion) * models[model], 3)
        event = {
            "ts": f"2026-11-03T{hour:02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
            "level": "info",
            "msg": "request served",
            "model": model,
            "request": {"id": f"req-{i:04d}", "business_unit": units[rng.randint(0, 2)]},
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "gpu_seconds": gpu_seconds},
        }
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
