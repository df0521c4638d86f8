#!/usr/bin/python3
"""Writes mlruns/: an MLflow tracking file store holding a training sweep, in the layout and
file formats MLflow's FileStore (mlflow/store/tracking/file_store.py) writes:

- mlruns/<experiment id>/meta.yaml: the experiment (yaml.safe_dump of artifact_location,
  creation_time, experiment_id, last_update_time, lifecycle_stage, name);
- mlruns/<experiment id>/<run id>/meta.yaml: the run's RunInfo, `status` as RunStatus's
  number (3 FINISHED, 4 FAILED), times in ms since 1970, `tags: []` kept for old readers;
- params/<key> and tags/<key>: the value, no newline;
- metrics/<key>: one "<timestamp ms> <value> <step>" line a logged point.

Experiment ids are large integers and run ids uuid4 hex, as MLflow makes them; seeded, so
the same bytes each run. Two experiments: a BERT learning-rate sweep on on-prem A100s (one
run failed half-way, one was deleted), and a Llama fine-tune on cloud H100s, one run on
spot. Needs PyYAML (Debian's python3-yaml), as MLflow does."""
import os
import random
import shutil
import uuid

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlruns")
rng = random.Random(42)
T0 = 1780531200000  # 2026-06-04T00:00:00Z, in ms


def run_id() -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_yaml(path: str, data: dict) -> None:
    # mlflow.utils.file_utils.write_yaml
    write(path, yaml.safe_dump(data, default_flow_style=False, allow_unicode=True))


def experiment(exp_id: str, name: str, created: int) -> str:
    folder = os.path.join(ROOT, exp_id)
    write_yaml(os.path.join(folder, "meta.yaml"), {
        "artifact_location": f"file:///home/ml/mlruns/{exp_id}",
        "creation_time": created, "experiment_id": exp_id, "last_update_time": created,
        "lifecycle_stage": "active", "name": name})
    return folder


def run(folder: str, exp_id: str, name: str, user: str, start: int, end: int, status: int, params: dict,
        tags: dict, loss: list, deleted: bool = False) -> None:
    rid = run_id()
    base = os.path.join(folder, rid)
    info = {
        "artifact_uri": f"file:///home/ml/mlruns/{exp_id}/{rid}/artifacts", "end_time": end,
        "entry_point_name": "", "experiment_id": exp_id,
        "lifecycle_stage": "deleted" if deleted else "active", "run_id": rid, "run_name": name,
        "run_uuid": rid, "source_name": "", "source_type": 4, "source_version": "", "start_time": start,
        "status": status, "tags": [], "user_id": user}
    if deleted:
        info["deleted_time"] = end + 3_600_000
    write_yaml(os.path.join(base, "meta.yaml"), info)
    os.makedirs(os.path.join(base, "artifacts"), exist_ok=True)
    for key, value in params.items():
        write(os.path.join(base, "params", key), str(value))
    for key, value in {"mlflow.runName": name, "mlflow.user": user, "mlflow.source.name": "train.py",
                       "mlflow.source.type": "LOCAL", "mlflow.source.git.commit": f"{rng.getrandbits(160):040x}",
                       **tags}.items():
        write(os.path.join(base, "tags", key), value)
    step_ms = (end - start) // max(len(loss), 1)
    write(os.path.join(base, "metrics", "loss"),
          "".join(f"{start + (i + 1) * step_ms} {v} {i}\n" for i, v in enumerate(loss)))


shutil.rmtree(ROOT, ignore_errors=True)
experiment("0", "Default", T0 - 86_400_000)

bert = experiment("172836491029384756", "bert-large-sweep", T0)
hour = 3_600_000
for i, (lr, hours, status, epochs_done) in enumerate(
        [("1e-5", 2.25, 3, 10), ("3e-5", 2.25, 3, 10), ("1e-4", 0.9, 4, 4), ("3e-4", 2.3, 3, 10)]):
    start = T0 + i * 3 * hour + 17_000 * i
    end = start + int(hours * hour) + 1234 * i
    run(bert, "172836491029384756", f"bert-lr-{lr}", "priya", start, end, status,
        {"lr": lr, "epochs": 10, "batch_size": 32, "num_gpus": 8, "instance_type": "a100-80gb"},
        {"team": "nlp"}, [round(0.9 - 0.05 * e - rng.random() * 0.01, 4) for e in range(epochs_done)])
# A run its owner deleted: MLflow keeps its folder, lifecycle_stage deleted.
run(bert, "172836491029384756", "bert-typo", "priya", T0 + 13 * hour, T0 + 13 * hour + 600_000, 5,
    {"lr": "1e-3", "epochs": 10, "num_gpus": 8, "instance_type": "a100-80gb"}, {"team": "nlp"}, [0.95], deleted=True)

llama = experiment("390218475610293847", "llama-3-8b-finetune", T0 + hour)
for i, (gpus, hours, tier) in enumerate([(4, 5.5, "on_demand"), (8, 3.05, "spot")]):
    start = T0 + 2 * hour + i * 6 * hour + 4_321 * i
    end = start + int(hours * hour) + 59_000
    run(llama, "390218475610293847", f"llama-ft-{i + 1}", "marco", start, end, 3,
        {"num_gpus": gpus, "instance_type": "h100-sxm", "epochs": 3, "lora_rank": 16},
        {"team": "assistants", "capacity": tier}, [round(1.8 - 0.3 * e, 3) for e in range(3)])
print(f"wrote {ROOT}")
