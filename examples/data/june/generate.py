#!/usr/bin/env python3
"""Writes the June 2026 month of one 8-GPU node that examples/data/june-by-day.json prices.

Each file has the shape the real tool writes (see README.md): dcgm.json and ksm.json are
Prometheus /api/v1/query_range answers (step 1h, 00:00 June 1 to 00:00 July 1 inclusive),
focus.csv an hourly FOCUS 1.0 bill in the FinOps Foundation sample data's column layout.
Deterministic: the same bytes on every run.

The node: GPUs 0-3 run nlp's llm-train-0 all month, GPU 4 search's ranker-0, GPUs 5-6
vision's detector-0, GPU 7 is idle. On June 18 search's sweep-0 takes GPUs 5-7 for the day
(detector-0 is stopped): search's cost that day is four times its usual.
"""
import csv
import datetime as dt
import io
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
START = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
HOURS = 30 * 24  # samples at every hour from START to July 1 00:00, inclusive
T0 = int(START.timestamp())
SWEEP = (17 * 24, 18 * 24)  # June 18, as hours from START: [start, end]

UUIDS = ["GPU-3f1a%04x-5b2d-4f60-8e1a-9c3b5d7f0e%02x" % (g * 4099, g) for g in range(8)]
PODS = {  # pod: (namespace, team, container, uid, GPUs)
    "llm-train-0": ("nlp", "nlp", "trainer", "b1d7c2e0-0001-4a5b-9c8d-1e2f3a4b5c61", [0, 1, 2, 3]),
    "ranker-0": ("search", "search", "ranker", "b1d7c2e0-0002-4a5b-9c8d-1e2f3a4b5c62", [4]),
    "detector-0": ("vision", "vision", "detector", "b1d7c2e0-0003-4a5b-9c8d-1e2f3a4b5c63", [5, 6]),
    "sweep-0": ("search", "search", "sweep", "b1d7c2e0-0004-4a5b-9c8d-1e2f3a4b5c64", [5, 6, 7]),
}


def hours_of(pod):
    """The sample hours at which a pod holds its GPUs."""
    if pod == "sweep-0":
        return list(range(SWEEP[0], SWEEP[1] + 1))
    if pod == "detector-0":  # stopped for June 18: no samples from 00:00 June 18 to 00:00 June 19
        return [h for h in range(HOURS + 1) if not SWEEP[0] < h < SWEEP[1]]
    return list(range(HOURS + 1))


def idle_hours():
    """GPU 7's hours without a pod: all but June 18's."""
    return [h for h in range(HOURS + 1) if not SWEEP[0] < h < SWEEP[1]]


def answer(result):
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}, separators=(",", ":")) + "\n"


def values(hours, value):
    return [[T0 + 3600 * h, value(h) if callable(value) else value] for h in hours]


def dcgm():
    result = []
    for g in range(8):
        base = {"DCGM_FI_DRIVER_VERSION": "550.54.15", "Hostname": "gpu-node-1", "UUID": UUIDS[g],
                "__name__": "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "device": "nvidia%d" % g, "gpu": str(g),
                "instance": "10.0.1.21:9400", "job": "dcgm-exporter", "modelName": "NVIDIA H100 80GB HBM3",
                "pci_bus_id": "00000000:%02X:00.0" % (0x18 + g)}
        for pod, (ns, _, container, _, gpus) in PODS.items():
            if g in gpus:
                metric = dict(base, container=container, namespace=ns, pod=pod)
                result.append({"metric": dict(sorted(metric.items())),
                               "values": values(hours_of(pod), lambda h, g=g: "%.3f" % (0.55 + ((h * 7 + g * 3) % 40) / 100))})
        if g == 7:
            result.append({"metric": dict(sorted(base.items())), "values": values(idle_hours(), "0")})
    return answer(result)


def ksm():
    result = []
    common = {"instance": "10.0.1.17:8080", "job": "kube-state-metrics", "service": "kube-state-metrics"}
    for pod, (ns, team, container, uid, gpus) in PODS.items():
        hours = hours_of(pod)
        ident = dict(common, namespace=ns, pod=pod, uid=uid)
        request = dict(ident, __name__="kube_pod_container_resource_requests", container=container, node="gpu-node-1",
                       resource="nvidia_com_gpu", unit="integer")
        result.append({"metric": dict(sorted(request.items())), "values": values(hours, str(len(gpus)))})
        labels = dict(ident, __name__="kube_pod_labels", label_team=team, label_app=pod.rsplit("-", 1)[0])
        result.append({"metric": dict(sorted(labels.items())), "values": values(hours, "1")})
        for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown"]:
            m = dict(ident, __name__="kube_pod_status_phase", phase=phase)
            if pod == "sweep-0":  # Running for the day, then Succeeded at its last sample
                v = lambda h, p=phase: "1" if (p == "Running" and h < SWEEP[1]) or (p == "Succeeded" and h == SWEEP[1]) else "0"
            else:
                v = "1" if phase == "Running" else "0"
            result.append({"metric": dict(sorted(m.items())), "values": values(hours, v)})
    return answer(result)


def focus():
    with open(os.path.join(HERE, "..", "..", "..", "tests", "data", "focus", "focus-excerpt.csv"), newline="") as f:
        header = next(csv.reader(f))
    numbers = {"BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "ListCost",
               "PricingQuantity", "Id"}
    out = io.StringIO()
    out.write(",".join('"%s"' % h for h in header) + "\n")
    for h in range(HOURS):
        start = START + dt.timedelta(hours=h)
        fmt = lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
        row = dict(BilledCost="98.32000000000", BillingAccountId="1234567890123", BillingAccountName="SunBird",
                   BillingCurrency="USD", BillingPeriodEnd="2026-07-01 00:00:00", BillingPeriodStart="2026-06-01 00:00:00",
                   ChargeCategory="Usage", ChargeDescription="$98.32 per On Demand Linux p5.48xlarge Instance Hour",
                   ChargeFrequency="Usage-Based", ChargePeriodEnd=fmt(start + dt.timedelta(hours=1)),
                   ChargePeriodStart=fmt(start), ConsumedQuantity="1.000000000000000", ConsumedUnit="Hrs",
                   ContractedCost="98.32000000000", ContractedUnitPrice="98.32", EffectiveCost="98.32000000000",
                   InvoiceIssuerName="Amazon Web Services, Inc.", ListCost="98.32000000000", ListUnitPrice="98.32",
                   PricingCategory="Standard", PricingQuantity="1.00000000000", PricingUnit="Hrs", ProviderName="AWS",
                   PublisherName="Amazon Web Services, Inc.", RegionId="us-east-1", RegionName="US East (N. Virginia)",
                   ResourceId="arn:aws:ec2:us-east-1:347410479675:instance/i-0c5e2a7f91d3b4e68", ResourceType="Instance",
                   ServiceCategory="Compute", Id=str(50000 + h), ServiceName="Amazon Elastic Compute Cloud",
                   SkuId="8D7EXAMPLEP548XL", SkuPriceId="8D7EXAMPLEP548XL.JRTCKXETXF.6YS6EN2CT7", SubAccountId="51738928782",
                   SubAccountName="Atlas Nimbus", Tags='{"cluster": "gpu-train", "node": "gpu-node-1"}')
        cells = []
        for name in header:
            v = row.get(name)
            cells.append("NULL" if v is None else v if name in numbers else '"' + v.replace('"', '""') + '"')
        out.write(",".join(cells) + "\n")
    return out.getvalue()


for name, make in [("dcgm.json", dcgm), ("ksm.json", ksm), ("focus.csv", focus)]:
    with open(os.path.join(HERE, name), "w", newline="") as f:
        f.write(make())
