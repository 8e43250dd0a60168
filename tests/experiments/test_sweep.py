"""The sweep engine with a cheap stand-in evaluation: resume, reuse, no duplicates across workers."""

import json
import multiprocessing

import pytest

from digitlab.experiments import ExperimentConfig, SweepProgress, SweepSpec, get_run, list_runs, open_storage, pending_count, run_grid, run_search


def score(config: ExperimentConfig) -> float:
    """A deterministic 'accuracy' that depends on the params, so tests can check the stored value."""
    return config.train_config["epochs"] / 10 + config.train_config["batch_size"] / 1000


def cheap_evaluate(config, report):
    return {"objective": score(config), "metrics": {"test_accuracy": score(config)}, "history": []}


def make_sweep():
    return SweepSpec("toy", ExperimentConfig(), {"train_config.epochs": [1, 2, 3], "train_config.batch_size": [32, 64]})


def _params(runs):
    return sorted(json.dumps(r.params, sort_keys=True) for r in runs)


def test_grid_runs_every_point_once_and_stores_results(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    started, done = [], []
    progress = SweepProgress(on_start=lambda c, p: started.append(p), on_done=done.append)
    runs = run_grid(make_sweep(), storage, cheap_evaluate, progress)
    assert len(runs) == 6 and len(started) == 6
    # on_done hears of every finished run once, with that run's own params (progress bars count on it)
    assert sorted(run.id for run in done) == sorted(run.id for run in runs)
    assert _params(done) == _params(runs)
    assert len(set(_params(runs))) == 6
    for run in runs:
        config = ExperimentConfig.from_dict(run.config)
        assert run.value == pytest.approx(score(config))
        assert run.metrics["test_accuracy"] == pytest.approx(score(config))
        assert get_run(storage, run.id).params == run.params
    assert pending_count(storage, make_sweep()) == 0


def test_second_run_reuses_the_store(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    run_grid(make_sweep(), storage, cheap_evaluate)
    calls = []
    runs = run_grid(make_sweep(), storage, lambda c, r: calls.append(c) or cheap_evaluate(c, r))
    assert calls == [] and len(runs) == 6


def test_interrupted_sweep_keeps_finished_runs_and_resumes(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    calls = []

    def interrupted_on_third(config, report):
        calls.append(config)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return cheap_evaluate(config, report)

    with pytest.raises(KeyboardInterrupt):
        run_grid(make_sweep(), storage, interrupted_on_third)
    assert len(list_runs(storage)) == 2
    assert pending_count(storage, make_sweep()) == 4
    resumed = []
    runs = run_grid(make_sweep(), storage, lambda c, r: resumed.append(c) or cheap_evaluate(c, r))
    assert len(resumed) == 4
    assert len(runs) == 6 and len(set(_params(runs))) == 6


def _worker(url, results):
    storage = open_storage(url)
    done = []
    run_grid(make_sweep(), storage, lambda c, r: done.append(1) or cheap_evaluate(c, r))
    results.put(len(done))


def test_two_worker_processes_share_a_sqlite_study_without_duplicates(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(url, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    counts = [results.get(timeout=5) for _ in workers]
    assert sum(counts) == 6
    runs = list_runs(open_storage(url))
    assert len(runs) == 6 and len(set(_params(runs))) == 6


def test_search_maximises_and_prunes(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")

    def evaluate(config, report):
        lr = config.train_config["lr"]
        history = []
        for epoch in range(1, 4):
            accuracy = 1 - abs(lr - 0.01) - 0.1 / epoch
            history.append({"epoch": epoch, "val_accuracy": accuracy})
            if report(epoch, accuracy):
                return {"objective": accuracy, "history": history, "stopped_early": True}
        return {"objective": accuracy, "history": history}

    space = {"train_config.lr": lambda trial, name: trial.suggest_float(name, 1e-4, 0.1, log=True)}
    study = run_search("toy-search", ExperimentConfig(), space, storage, evaluate, n_trials=12, seed=0)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") >= 3 and len(states) == 12
    assert abs(study.best_params["train_config.lr"] - 0.01) < 0.02
    again = run_search("toy-search", ExperimentConfig(), space, storage, evaluate, n_trials=12, seed=0)
    assert len(again.trials) == 12  # resumed, not repeated
