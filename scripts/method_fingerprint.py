"""Fingerprint every registered method, to check that a refactor changes no result.

    OMP_NUM_THREADS=1 PYTHONPATH=src python scripts/method_fingerprint.py record DIR   # before
    OMP_NUM_THREADS=1 PYTHONPATH=src python scripts/method_fingerprint.py check DIR    # after

``record`` trains each registered method (and a few variants) for a few epochs on seeded
synthetic pairs (one thread), writes its test-split vectors to DIR/<key>.npy, its per-epoch
history (timings left out) to DIR/<key>.history.json and the saved model to DIR/models/<key>.
``check`` trains again and compares: vectors allclose (atol 1e-6, the max difference printed),
history identical, and the models saved by ``record`` still load and give the recorded vectors
bit for bit. Exit status 1 on any mismatch. A registered method without a configuration here is
reported and skipped (add one to PARAMS).
"""
import json
import os
import sys

import numpy as np
import torch

from scicmr.methods import available_methods, create_method, load_method

torch.set_num_threads(1)
mode, root = sys.argv[1], sys.argv[2]
if mode not in ("record", "check"):
    sys.exit("usage: method_fingerprint.py record|check DIR")
os.makedirs(root + "/models", exist_ok=True)

def class_pairs(n, seed, classes=4, dx=20, dy=12):
    rng = np.random.default_rng(1000)
    cx, cy = 2.0 * rng.normal(size=(classes, dx)), 2.0 * rng.normal(size=(classes, dy))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = cx[y] + rng.normal(size=(n, dx)) + 5.0
    Y = 10.0 * (cy[y] + rng.normal(size=(n, dy)))
    return X.astype(np.float32), Y.astype(np.float32), y

Xtr, Ytr, ytr = class_pairs(160, 1)
Xv, Yv, yv = class_pairs(40, 2)
Xte, Yte, yte = class_pairs(50, 3)
years = np.random.default_rng(5).integers(2000, 2010, 160)
authors = [[f"a{i % 7}"] for i in range(160)]
years_v = np.random.default_rng(6).integers(2000, 2010, 40)
authors_v = [[f"a{i % 7}"] for i in range(40)]
years_te = np.random.default_rng(7).integers(2000, 2010, 50)
authors_te = [[f"a{i % 5}"] for i in range(50)]

# small configs: few epochs, small nets
common = dict(epochs=3, batch_size=32, seed=0)
PARAMS = {
    "cca": {},
    "cardl": dict(hidden_dims=(16,), embed_dim=8, **common),
    "mfcmr": dict(hidden_dims=(16,), embed_dim=8, disc_hidden_dims=(8,), k=2, patience=None, **common),
    "smcr": dict(hidden_dims=(16,), embed_dim=8, disc_hidden=(8, 4), k=2, **common),
    "acmr": dict(hidden_dims=(16,), embed_dim=8, disc_hidden=(8, 4), **common),
    "ssacr": dict(hidden_dims=(16,), embed_dim=8, disc_hidden=(8, 4), k=2, **common),
    "idcmr": dict(hidden_dims=(16,), shared_dims=(16,), embed_dim=8, **common),
    "dscmr": dict(hidden_dims=(16,), embed_dim=8, **common),
    "corr-ae": dict(hidden_dims=(16,), embed_dim=8, **common),
    "cmdn": dict(intra_dims=(16, 8), inter_dims=(16, 8), shared_dims=(8,), embed_dim=8, pretrain_epochs=2, **common),
}
EXTRA_VARIANTS = {
    "smcr-unit": ("smcr", dict(PARAMS["smcr"], unit_sphere=True)),
    "mfcmr-N": ("mfcmr", dict(PARAMS["mfcmr"], variant="N", side_dropout=0.2)),
    "idcmr-learned": ("idcmr", dict(PARAMS["idcmr"], classifier="learned")),
    "corr-ae-full": ("corr-ae", dict(PARAMS["corr-ae"], variant="full")),
    "cardl-learnT-nolabels": ("cardl", dict(PARAMS["cardl"], learn_temperature=True, use_labels=False)),
    "acmr-noramp": ("acmr", dict(PARAMS["acmr"], adv_ramp=False)),
}
runs = {m: (m, PARAMS.get(m)) for m in available_methods()}
runs.update(EXTRA_VARIANTS)

def outputs(model):
    side_te = dict(years=years_te, authors=authors_te)
    return np.concatenate([model.transform_image(Xte, **side_te), model.transform_text(Yte, **side_te)])

ok = True
for key, (method, params) in sorted(runs.items()):
    if params is None:
        print(f"{key}: NO CONFIG (new method?), skipped"); continue
    model = create_method(method, **params)
    side = dict(years=years, authors=authors)
    validation = (Xv, Yv, yv, dict(years=years_v, authors=authors_v))
    model.fit(Xtr, Ytr, ytr, validation=validation, **side)
    out = outputs(model)
    hist = json.dumps([{k: v for k, v in row.items() if k != "seconds"} for row in (getattr(model, "history_", None) or [])], default=float)
    if mode == "record":
        np.save(f"{root}/{key}.npy", out)
        with open(f"{root}/{key}.history.json", "w") as fh:
            fh.write(hist)
        model.save(f"{root}/models/{key}")
        again = outputs(load_method(f"{root}/models/{key}"))
        print(f"{key}: saved, shape {out.shape}, reload identical {np.array_equal(out, again)}")
    else:
        before = np.load(f"{root}/{key}.npy")
        same = np.allclose(out, before, atol=1e-6)
        maxdiff = float(np.abs(out - before).max())
        hist_same = open(f"{root}/{key}.history.json").read() == hist
        loaded = outputs(load_method(f"{root}/models/{key}"))
        load_same = np.array_equal(loaded, before)
        ok &= same and load_same
        print(f"{key}: retrain allclose={same} maxdiff={maxdiff:.2e} history_identical={hist_same} old-model-load identical={load_same}")
print("ALL OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
