"""The data of chapter 9, "Head to head": every optimizer of optimlib, tuned fairly.

For each task (problem family) and each optimizer, with that optimizer's default
hyperparameters except the learning rate:

1. tuning: every learning rate of a log grid runs on the TUNING seeds for the task's
   budget of gradient evaluations; the lr with the smallest median final gap wins
   (:func:`optimlib.compare.tune`);
2. evaluation: the chosen lr runs on separate EVALUATION seeds; their gap curves,
   steps to the task's tolerance and divergences are stored
   (:func:`optimlib.compare.evaluate`).

The full sweep takes minutes, far beyond a notebook's 10 s, so ``make data``
(``benchmarks/head_to_head.py``) writes it to :data:`DATA_FILE`, which ships with
optimlib so that the chapter runs wherever optimlib is installed (Binder, Colab), and
tests/test_head_to_head_data.py re-runs a reduced sweep and checks the file against
it. Results do not depend on the number of processes: every run is seeded on its own,
and the pool only spreads independent (task, optimizer) pairs.
"""

from __future__ import annotations

import json
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from optimlib import compare, nn, optimizers, optimizers_extra, problems

__all__ = ["CONFIG", "DATA_FILE", "OPTIMIZERS", "TASKS", "dumps", "pair", "sweep"]

DATA_FILE = Path(__file__).resolve().parent / "data" / "head_to_head.json"

# Default hyperparameters for all but the learning rate. AdamW's weight decay is off:
# decay changes the objective (its fixed point is not the minimizer), and without it
# AdamW computes Adam's update (delta outside the root, Adam's default) operation for
# operation: a control pair whose runs must agree bit for bit.
OPTIMIZERS = {
    "SGD": optimizers.SGD,
    "Momentum": optimizers.Momentum,
    "Nesterov": optimizers.Nesterov,
    "AdaGrad": optimizers.AdaGrad,
    "RMSProp": optimizers.RMSProp,
    "Adam": optimizers.Adam,
    "AdamW": partial(optimizers_extra.AdamW, weight_decay=0.0),
    "Nadam": optimizers_extra.Nadam,
    "AMSGrad": optimizers_extra.AMSGrad,
    "Adadelta": optimizers_extra.Adadelta,
    "Lion": optimizers_extra.Lion,
}


# --- the tasks: seed -> (problem, start) ----------------------------------------------
def quadratic(seed: int):
    """kappa = 1000 in 20 dimensions; the seed turns the eigenvectors and draws the start."""
    rng = np.random.default_rng(seed)
    q = problems.Quadratic.with_condition_number(1000.0, dim=20, rng=rng)
    x0 = q.x_star + 3 * rng.standard_normal(q.dim)
    return q, x0


def rosenbrock(seed: int):
    """Rosenbrock's valley; the seed moves the start around Rosenbrock's (-1.2, 1)."""
    rng = np.random.default_rng(seed)
    return problems.Rosenbrock(), np.array([-1.2, 1.0]) + 0.3 * rng.standard_normal(2)


def logistic(seed: int):
    """Logistic regression on 500 fresh examples in 10-D (input kappa = 10), from w = 0."""
    rng = np.random.default_rng(seed)
    problem = problems.LogisticRegression.synthetic(500, 10, rng, kappa=10.0)
    return problem, problem.x0


def spirals(seed: int):
    """A [2, 16, 16, 2] tanh MLP on 200 two-spiral points; the seed draws data and init."""
    rng = np.random.default_rng(seed)
    X, y = problems.two_spirals(200, rng, turns=1.0)
    network = problems.Network(nn.MLP([2, 16, 16, 2], activation="tanh"), X, y, rng=rng)
    return network, network.x0


# The gap is f - f* where f* is known, and the loss f itself for the network (f* unknown;
# cross-entropy is >= 0). The tolerance is the "solved" level of the steps-to table.
TASKS = {
    "quadratic": {
        "measure": "loss_gap",
        "make": quadratic,
        "steps": 300,
        "batch_size": None,
        "tol": 1e-3,
    },
    "rosenbrock": {
        "measure": "loss_gap",
        "make": rosenbrock,
        "steps": 2000,
        "batch_size": None,
        "tol": 1e-4,
    },
    "logistic": {
        "measure": "loss_gap",
        "make": logistic,
        "steps": 1000,
        "batch_size": 8,
        "tol": 1e-2,
    },
    "mlp": {"measure": "loss", "make": spirals, "steps": 2000, "batch_size": 16, "tol": 0.1},
}

CONFIG = {
    "lrs": compare.lr_grid(1e-5, 1e3, 4),  # quarter decades, 10^-5 .. 10^3
    "tune_seeds": [0, 1, 2],
    "eval_seeds": list(range(100, 120)),  # 20: enough for an interval of each median
    "curve_points": 100,  # the gap is stored at 101 evenly spaced steps
    "tasks": list(TASKS),
    "optimizers": list(OPTIMIZERS),
}


def record_at(steps: int, points: int) -> list[int]:
    return sorted({round(k * steps / points) for k in range(points + 1)})


def pair(task_name: str, opt_name: str, config: dict) -> dict:
    """Tune one optimizer on one task, then evaluate the chosen lr on fresh seeds.

    Raises ValueError when the tuning and evaluation seeds overlap (the report would
    reward the chosen lr for its tuning seeds' luck), and when no lr of the grid has a
    finite median score (at least half the tuning seeds diverged at every lr: there is
    nothing to evaluate).
    """
    shared = sorted(set(config["tune_seeds"]) & set(config["eval_seeds"]))
    if shared:
        raise ValueError(f"config: tune_seeds and eval_seeds must be disjoint; both hold {shared}")
    task, make_optimizer = TASKS[task_name], OPTIMIZERS[opt_name]
    steps, batch = task["steps"], task["batch_size"]
    tuned = compare.tune(
        make_optimizer, task["make"], config["lrs"], config["tune_seeds"], steps, batch
    )
    if tuned["best"] is None:
        raise ValueError(
            f"config: {opt_name} on {task_name} diverged on at least half the tune_seeds "
            "at every lr of lrs; extend lrs to smaller learning rates"
        )
    evaluated = compare.evaluate(
        make_optimizer,
        task["make"],
        tuned["best_lr"],
        config["eval_seeds"],
        steps,
        record_at(steps, config["curve_points"]),
        task["tol"],
        batch,
    )
    return {"tune": tuned, "eval": evaluated}


def _pair(args):
    return args, pair(*args)


def sweep(config: dict = CONFIG, processes: int = 1) -> dict:
    """Every (task, optimizer) pair of ``config``, as plain data (see the module doc)."""
    jobs = [(t, o, config) for t in config["tasks"] for o in config["optimizers"]]
    if processes > 1:
        # the network's runs are the slow ones: hand them out first, to keep both busy
        jobs.sort(key=lambda job: job[0] != "mlp")
        with Pool(processes) as pool:
            done = dict((a[:2], r) for a, r in pool.imap_unordered(_pair, jobs))
    else:
        done = {(t, o): pair(t, o, c) for t, o, c in jobs}
    tasks = {}
    for t in config["tasks"]:
        settings = {k: v for k, v in TASKS[t].items() if k != "make"}
        tasks[t] = {
            **settings,
            "description": TASKS[t]["make"].__doc__,
            "optimizers": {o: done[(t, o)] for o in config["optimizers"]},
        }
    return {"config": config, "tasks": tasks}


def dumps(data: dict) -> str:
    """Deterministic JSON: sorted keys, floats written by repr (they read back exactly)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
