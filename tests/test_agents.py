"""Configs, training, resume, evaluation, analysis and the command line."""

from __future__ import annotations

import ast
import json
import signal
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroleg.agents import analysis
from neuroleg.agents.ceilings import EVALUATION_SEED, stored_ceiling
from neuroleg.agents.config import (
    TASK_ARGS,
    ConfigError,
    apply_overrides,
    load_config,
    packaged_configs,
    resolve_config,
    validate_config,
)
from neuroleg.agents.learning import LEARNING_ROWS
from neuroleg.agents.normalization import load_stats
from neuroleg.agents.pipeline import smoke
from neuroleg.agents.runs import RunDir
from neuroleg.agents.train import EpisodeMetrics, train
from neuroleg.scripts.cli import main as cli_main

REPO = Path(__file__).resolve().parent.parent
SMOKE = "posture_smoke"


def smoke_cfg(**overrides: object):
    return load_config(resolve_config(SMOKE), [f"{k}={v}" for k, v in overrides.items()])


# ---- configs -----------------------------------------------------------------------------


def test_every_config_in_the_repository_loads() -> None:
    files = sorted((REPO / "configs").glob("*.yaml"))
    assert len(files) >= 24
    for f in files:
        cfg = load_config(f)
        assert f.stem.startswith(cfg.env.task.lower())
    assert set(packaged_configs()) == {f.stem for f in files}


def test_every_sweep_file_in_the_manual_plans_its_trials_and_has_its_page() -> None:
    from neuroleg.agents.sweep import planned

    files = sorted((REPO / "docs" / "results" / "sweeps").glob("*.yaml"))
    assert files
    for f in files:
        todo, axes, _ = planned(f)  # every grid value validated against the config schema
        assert todo and axes, f.name
        assert f.with_suffix(".md").is_file(), f"{f.name}: run it with --page {f.with_suffix('.md').name}"


def test_a_sweep_page_leaves_out_the_figures_a_task_calls_descriptive(tmp_path: Path) -> None:
    from neuroleg.agents.sweep_page import write_sweep_page
    from neuroleg.envs.tasks import TASKS

    for task in TASKS.values():
        assert task.descriptive_metrics <= set(task.metric_info), task.__name__
    records = [
        {
            "trial": f"t{seed}",
            "seed": seed,
            "status": "ok",
            "total_timesteps": 100,
            "task_score": 0.3 + 0.1 * seed,
            "train_time_s": 60.0,
            "energy_per_unit_j": 900.0 + 10 * seed,
            "metric_precision_m": 0.05 + 0.01 * seed,
            "metric_target_z_m": -0.8 - 0.1 * seed,
        }
        for seed in (0, 1)
    ]
    spec, page = tmp_path / "posture.yaml", tmp_path / "posture.md"
    spec.write_text("base: posture_sac\nseeds: [0, 1]\n")
    write_sweep_page(spec, page, records, ["total_timesteps"], "2 at a time", TASKS["Posture"].descriptive_metrics)
    text = page.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| total_timesteps"))
    assert "| precision_m |" in header and "target_z_m" not in header
    assert "Left out, as they describe episodes rather than grade them: foot_angle_rad, foot_x_m" in text
    write_sweep_page(spec, page, records, ["total_timesteps"], "2 at a time")  # nothing left out
    assert "target_z_m" in page.read_text() and "Left out" not in page.read_text()


def test_every_bad_field_is_reported_by_path() -> None:
    data = yaml.safe_load(resolve_config("hop_ppo").read_text())
    data["n_envs"] = "two"
    data["seed"] = -1
    data["surprise"] = 1
    data["algo"]["buffer_size"] = 10000  # off-policy field on PPO
    data["algo"]["learning_rate"] = 5.0
    data["env"]["task_args"]["target_frequency_hz"] = 10
    data["env"]["task_args"]["colour"] = "red"
    data["env"]["recruitment_limit"] = 1.3
    data["env"]["drive_rise_s"] = -0.1
    with pytest.raises(ConfigError) as err:
        validate_config(data, "hop_ppo.yaml")
    paths = {p for p, _ in err.value.problems}
    for expected in (
        "n_envs",
        "seed",
        "surprise",
        "algo.learning_rate",
        "env.task_args.target_frequency_hz",
        "env.task_args.colour",
        "env.drive_rise_s",
    ):
        assert expected in paths, (expected, paths)
    text = str(err.value)
    assert "does not apply to ppo" in text and "must lie in [0.5, 1.0]" in text
    assert "less than or equal to 4" in text  # says what is allowed


def test_unknown_task_and_algorithm_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"env": {"task": "Swim"}, "algo": {"name": "dqn"}})
    paths = {p for p, _ in err.value.problems}
    assert {"env.task", "algo.name"} <= paths
    assert "'Posture'" in str(err.value) and "'ppo'" in str(err.value)


def test_overrides_are_validated_and_never_evaluated() -> None:
    cfg = smoke_cfg(**{"algo.learning_rate": 0.001, "env.energy_weight": 0.5, "seed": 3})
    assert cfg.algo.learning_rate == 0.001 and cfg.env.energy_weight == 0.5 and cfg.seed == 3
    with pytest.raises(ConfigError, match="seed"):
        smoke_cfg(seed="__import__('os').system('true')")
    with pytest.raises(ConfigError, match=r"key\.sub=value"):
        apply_overrides({}, ["nonsense"])
    with pytest.raises(ConfigError, match=r"algo\.nope"):
        smoke_cfg(**{"algo.nope": 1})


def test_missing_config_is_reported() -> None:
    with pytest.raises(ConfigError, match="packaged"):
        resolve_config("no_such_config")


# ---- training ----------------------------------------------------------------------------


def _params(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.policy.parameters()]


def test_same_config_and_seed_same_result(tmp_path: Path) -> None:
    cfg = smoke_cfg(total_timesteps=256)
    a = train(cfg, RunDir.create(cfg, tmp_path, "a"), progress=False)
    b = train(cfg, RunDir.create(cfg, tmp_path, "b"), progress=False)
    for pa, pb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_array_equal(pa, pb)
    c = train(smoke_cfg(total_timesteps=256, seed=1), RunDir.create(cfg, tmp_path, "c"), progress=False)
    assert any(not np.array_equal(x, y) for x, y in zip(_params(a), _params(c), strict=True))


@pytest.mark.parametrize(
    "algo,extra",
    [
        ("sac", ["algo.learning_starts=64", "algo.buffer_size=1000"]),
        ("td3", ["algo.learning_starts=64", "algo.buffer_size=1000", "algo.action_noise_std=0.1"]),
        ("tqc", ["algo.learning_starts=64", "algo.buffer_size=1000"]),
        ("recurrent_ppo", ["algo.n_steps=64", "algo.batch_size=32", "algo.n_epochs=1"]),
    ],
)
def test_every_algorithm_trains_saves_and_evaluates(tmp_path: Path, algo: str, extra: list[str]) -> None:
    from neuroleg.agents.evaluate import evaluate_run

    base = yaml.safe_load(resolve_config(SMOKE).read_text())
    base["algo"] = {"name": algo, "batch_size": 32, "policy": {"net_arch": [16, 16]}}
    cfg = validate_config(apply_overrides(base, [*extra, "total_timesteps=160", "checkpoint_every=100"]))
    run = RunDir.create(cfg, tmp_path, algo)
    model = train(cfg, run, progress=False)
    assert model.num_timesteps >= 160 and run.model_path.is_file()
    ckpt = run.latest_checkpoint()
    assert ckpt is not None
    if algo != "recurrent_ppo":  # off-policy: the experience is checkpointed with the weights
        import pickle

        with open(ckpt / "replay_buffer.pkl", "rb") as f:
            assert pickle.load(f).size() == model.replay_buffer.size() > 0
    result = evaluate_run(run, episodes=1, baselines=("zero",))
    assert np.isfinite(result["policy"]["task_score"]["mean"])


def test_save_load_round_trip(tmp_path: Path) -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    cfg = smoke_cfg(total_timesteps=256)
    run = RunDir.create(cfg, tmp_path, "rt")
    model = train(cfg, run, progress=False)
    loaded = PPO.load(run.model_path, device="cpu")
    obs = np.random.default_rng(0).normal(size=(5, *model.observation_space.shape)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    stats = load_stats(run.vecnormalize_path)  # JSON, not a pickle
    assert stats.obs_rms.count > 256
    venv = model.get_env()
    assert isinstance(venv, VecNormalize)
    np.testing.assert_allclose(stats.normalize_obs(obs), venv.normalize_obs(obs), rtol=1e-6, atol=1e-6)
    assert load_config(run.config_path) == cfg  # the resolved config is saved


def test_interrupted_run_resumes_with_same_step_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = smoke_cfg(total_timesteps=768, checkpoint_every=10_000)
    run = RunDir.create(cfg, tmp_path, "interrupted")
    original = EpisodeMetrics._on_step

    def ctrl_c_at_300(self: EpisodeMetrics) -> bool:
        if self.num_timesteps >= 300:
            raise KeyboardInterrupt  # as Ctrl-C would, mid-rollout
        return original(self)

    monkeypatch.setattr(EpisodeMetrics, "_on_step", ctrl_c_at_300)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False)
    ckpt = run.latest_checkpoint()
    assert ckpt is not None and not run.model_path.exists()
    saved_steps = json.loads((ckpt / "state.json").read_text())["num_timesteps"]
    assert saved_steps == 300
    saved_count = load_stats(ckpt / "vecnormalize.json").obs_rms.count
    monkeypatch.setattr(EpisodeMetrics, "_on_step", original)
    seen: dict[str, float] = {}

    def record_start(self: EpisodeMetrics) -> None:
        seen["steps"] = self.num_timesteps
        seen["count"] = self.model.get_env().obs_rms.count
        self._activations = [[] for _ in range(self.training_env.num_envs)]

    monkeypatch.setattr(EpisodeMetrics, "_on_training_start", record_start)
    model = train(cfg, run, resume=True, progress=False)
    # the unfinished rollout (steps 256-300) was never learned from: it is collected again
    assert seen["steps"] == 256
    # the saved statistics, plus the one reset observation per env SB3 takes when learning resumes
    assert saved_count <= seen["count"] <= saved_count + cfg.n_envs
    assert model.num_timesteps == cfg.total_timesteps == 768  # as uninterrupted: whole rollouts of 128
    assert json.loads((run.path / "training.json").read_text())["num_timesteps"] == model.num_timesteps


def test_sigterm_leaves_a_usable_checkpoint(cli_training) -> None:
    proc, run = cli_training("term")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "--resume" in err.decode()
    from stable_baselines3 import PPO

    ckpt = run.latest_checkpoint()
    assert ckpt is not None
    model = PPO.load(ckpt / "model.zip", device="cpu")
    assert model.num_timesteps == json.loads((ckpt / "state.json").read_text())["num_timesteps"] > 0
    assert not list(run.checkpoints.glob(".*partial"))


@pytest.mark.slow
def test_smoke_trains_every_task_and_writes_a_complete_run(tmp_path: Path) -> None:
    assert smoke(tmp_path, ["Posture", "SquatJump", "Hop", "Pedal"]) == []
    result = json.loads((tmp_path / "smoke_hop" / "evaluation.json").read_text())
    assert set(result["baselines"]) == {"zero", "random", "cocontraction"}
    for key in (
        "task_score",
        "energy_per_unit_j",
        "energy_per_unit_j_per_kg",
        "oxygen_per_unit_ml_per_kg",
        "muscle_efficiency",
        "cci",
        "synergies",
        "motor_units",
    ):
        assert key in result["policy"]
    assert (tmp_path / "smoke_hop" / "report" / "activation.png").is_file()
    for video in ("p.gif", "p.mp4"):  # mp4 through imageio-ffmpeg (the video extra, installed by make test)
        assert cli_main(["render", str(tmp_path / "smoke_posture"), "--out", str(tmp_path / video)]) == 0
        assert (tmp_path / video).stat().st_size > 1000
    assert not list(tmp_path.glob(".p.*"))  # no temporary files left behind


def test_cli_reports_bad_input_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["train", "no_such_config"]) == 2
    assert cli_main(["train", SMOKE, "algo.learning_rate=-1", "--runs-dir", str(tmp_path)]) == 2
    assert "algo.learning_rate" in capsys.readouterr().err
    assert cli_main(["evaluate", str(tmp_path / "missing")]) == 2
    # a model file or a ceilings folder that is not there is named, and nothing is written
    assert cli_main(["optimize", "SquatJump", "--model", str(tmp_path / "nope.yaml"), "--generations", "1"]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    out = tmp_path / "validation"
    assert cli_main(["validate", "--ceilings", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "--ceilings" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit) as exit_:  # cocontraction uses its run's model file: no --model
        cli_main(["experiment", "cocontraction", "--run", str(tmp_path), "--model", "x.yaml"])
    assert exit_.value.code == 2 and "unrecognized arguments: --model x.yaml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli_main(["experiment", "countermovement", "--rises", "0", "2"])
    assert exit_.value.code == 2 and "--rises: 2 s is outside [0, 1] s" in capsys.readouterr().err
    assert cli_main(["experiment", "countermovement", "--workers", "0", "--out", str(tmp_path / "cm")]) == 2
    assert "workers must be at least 1" in capsys.readouterr().err and not (tmp_path / "cm").exists()


# ---- analysis ----------------------------------------------------------------------------


def test_co_contraction_index_known_values() -> None:
    e = np.linspace(0, 1, 50)
    assert analysis.co_contraction_index(e, e) == pytest.approx(100.0)
    assert analysis.co_contraction_index(np.r_[e, 0 * e], np.r_[0 * e, e]) == pytest.approx(0.0)
    assert analysis.co_contraction_index(np.full(10, 0.2), np.full(10, 0.6)) == pytest.approx(50.0)
    floor = np.full((20, 9), 0.01)
    assert all(v == 0.0 for v in analysis.pair_cci(floor, tuple("ABCDEFGHI"), [("j", "A", "B")]).values())


def test_synergy_count_recovers_planted_synergies() -> None:
    rng = np.random.default_rng(0)
    w = np.zeros((3, 9))
    w[0, :3], w[1, 3:6], w[2, 6:] = 1.0, 1.0, 1.0  # three disjoint muscle groups
    w += 0.1 * rng.random((3, 9))
    h = rng.random((400, 3)) ** 3  # sparse-ish, independent activations
    x = 0.01 + 0.5 * (h @ w)
    result = analysis.synergies(x)
    assert result["n_synergies_90"] == 3
    assert result["vaf"][2] > 0.9 > result["vaf"][1]
    assert analysis.synergies(np.full((50, 9), 0.01)) == {"vaf": [], "n_synergies_90": 0}


def test_layers_import_downwards_only() -> None:
    """physiology <- body <- tasks <- envs <- agents <- scripts; nothing imports upwards."""
    order = ["envs/physiology", "envs/body", "envs/tasks", "envs", "agents", "scripts"]
    rank = {name: i for i, name in enumerate(order)}

    def layer(path: Path) -> str:
        rel = path.relative_to(REPO).parent.as_posix()
        return rel if rel in rank else rel.split("/")[0]

    def target(module: str, level: int, here: Path) -> str | None:
        if level:
            base = here.relative_to(REPO).parent
            for _ in range(level - 1):
                base = base.parent
            module = (base.as_posix().replace("/", ".") + ("." + module if module else "")).strip(".")
        elif module.startswith("neuroleg."):
            module = module[len("neuroleg.") :]
        else:
            return None
        parts = module.split(".")
        for n in (2, 1):
            cand = "/".join(parts[:n])
            if cand in rank:
                return cand
        return None

    bad = []
    for folder in order:
        for f in (REPO / folder).glob("*.py") if folder != "agents" else (REPO / folder).rglob("*.py"):
            here = layer(f)
            for node in ast.walk(ast.parse(f.read_text())):
                if isinstance(node, ast.ImportFrom):
                    t = target(node.module or "", node.level, f)
                elif isinstance(node, ast.Import):
                    t = next((target(a.name, 0, f) for a in node.names if target(a.name, 0, f)), None)
                else:
                    continue
                if t is not None and rank[t] > rank[here]:
                    bad.append(f"{f.relative_to(REPO)} imports {t}")
    assert bad == []


@pytest.mark.slow
def test_demo_command_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["demo", "--timesteps", "2048", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SquatJump after 2048 steps of PPO" in out and "jump height during training" in out
    table = out[out.index("controller") :]
    for row in ("trained policy", "zero drive", "random drive", "ceiling"):
        assert row in table, row
    assert "step 2048/2048 (100%)" in out  # off a terminal, progress comes as plain lines
    run = next(tmp_path.glob("demo_*"))
    for needed in (
        "model.zip",
        "evaluation.json",
        "physiology_curves.png",
        "report/report.md",
        "report/learning_curves.png",
    ):
        assert (run / needed).is_file(), needed


def test_overrides_may_follow_options(tmp_path: Path) -> None:
    argv = [
        "train",
        SMOKE,
        "--name",
        "late",
        "--runs-dir",
        str(tmp_path),
        "total_timesteps=128",
        "seed=4",
        "--no-progress",
        "--no-eval",
    ]
    assert cli_main(argv) == 0
    cfg = load_config(tmp_path / "late" / "config.yaml")
    assert cfg.total_timesteps == 128 and cfg.seed == 4
    with pytest.raises(SystemExit):
        cli_main(["evaluate", str(tmp_path / "late"), "seed=4"])


def test_atomic_writes_leave_nothing_half_written(tmp_path: Path) -> None:
    from neuroleg.agents.runs import atomic_path, write_text_atomic

    target = tmp_path / "result.json"
    write_text_atomic(target, "good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    assert target.stat().st_mode & 0o044  # readable by others, as the umask allows


def test_squat_jump_evaluation_reports_fraction_of_ceiling(tmp_path: Path) -> None:
    from neuroleg.agents.evaluate import evaluate_run, format_table

    cfg = load_config(resolve_config("squatjump_smoke"), ["total_timesteps=128"])
    run = RunDir.create(cfg, tmp_path, "sj")
    train(cfg, run, progress=False)
    result = evaluate_run(run, episodes=1, baselines=("zero",))
    assert result["ceiling"]["score"] > 0
    assert result["policy"]["fraction_of_ceiling"] == pytest.approx(
        result["policy"]["task_score"]["mean"] / result["ceiling"]["score"]
    )
    assert "optimal-control ceiling" in format_table(result)


@pytest.mark.parametrize("task", sorted(TASK_ARGS))
def test_config_task_arg_defaults_are_the_tasks_own(task: str) -> None:
    # a config that omits a task argument must build the same task as gym.make without it
    from neuroleg.agents.ceilings import task_defaults

    assert TASK_ARGS[task]().model_dump() == task_defaults(task)


def test_a_run_trains_on_its_own_copy_of_a_model_file(tmp_path: Path, stronger_model: Path) -> None:
    import gymnasium as gym

    from neuroleg.agents.ceilings import ceiling_filename
    from neuroleg.agents.evaluate import evaluate_run
    from neuroleg.agents.optimize import optimize
    from neuroleg.agents.runs import RUN_MODEL_FILE

    model = stronger_model
    with pytest.raises(ConfigError, match=r"env\.model_path.*not found"):
        load_config(resolve_config("squatjump_smoke"), [f"env.model_path={tmp_path / 'missing.yaml'}"])
    broken = tmp_path / "broken.yaml"
    broken.write_text(model.read_text().replace("f_max_n: 2500.0", "f_max_n: -1.0", 1))
    with pytest.raises(ConfigError, match=r"env\.model_path"):
        load_config(resolve_config("squatjump_smoke"), [f"env.model_path={broken}"])
    cfg = load_config(resolve_config("squatjump_smoke"), ["total_timesteps=128", f"env.model_path={model}"])
    run = RunDir.create(cfg, tmp_path, "own")
    train(cfg, run, progress=False)
    copy = run.path / RUN_MODEL_FILE
    assert copy.read_text() == model.read_text()
    model.write_text(model.read_text().replace("f_max_n: 2500.0", "f_max_n: 3000.0", 1))  # edited afterwards
    again = run.config()
    assert again.env.model_path == str(copy)
    env = gym.make(again.env.env_id, **again.env.env_kwargs())
    assert env.unwrapped.model.muscles.f_max[env.unwrapped.model.muscle_index("GLU")] == 2500.0
    env.close()
    # the packaged body's ceiling says nothing about this one; its own ceiling does
    result = evaluate_run(run, episodes=1, baselines=())
    assert "ceiling" not in result and "fraction_of_ceiling" not in result["policy"]
    folder, body = tmp_path / "ceilings", {"model_path": str(copy)}
    own = optimize("SquatJump", 1, 4, env_kwargs=body, out=folder / ceiling_filename("SquatJump", body))
    assert cli_main(["evaluate", str(run.path), "--episodes", "1", "--ceilings", str(folder)]) == 0
    result = json.loads(run.evaluation_path.read_text())
    assert result["ceiling"]["score"] == own.score
    assert result["policy"]["fraction_of_ceiling"] == pytest.approx(result["policy"]["task_score"]["mean"] / own.score)


def test_a_run_reports_the_antagonist_pairs_of_its_own_model_file(tmp_path: Path) -> None:
    # a model file may set other roles; training metrics, evaluation and report must use the run's
    from importlib import resources

    from neuroleg.agents.evaluate import evaluate_run
    from neuroleg.agents.report import make_report
    from neuroleg.agents.train import _pairs
    from neuroleg.envs.physiology import MUSCLE_NAMES

    packaged = resources.files("neuroleg.envs").joinpath("models/leg9.yaml").read_text()
    roles = "knee_flexion: {agonists: [HAM, GAS], synergists: [BFSH]"
    assert roles in packaged
    model = tmp_path / "short_head_agonist.yaml"
    model.write_text(packaged.replace(roles, "knee_flexion: {agonists: [HAM, BFSH], synergists: [GAS]"))
    cfg = load_config(resolve_config("squatjump_smoke"), ["total_timesteps=128", f"env.model_path={model}"])
    assert [n for n, _, _ in _pairs(MUSCLE_NAMES, cfg.env.model_path) if n.startswith("knee")] == [
        "knee_HAM_VAS",
        "knee_BFSH_VAS",
    ]
    run = RunDir.create(cfg, tmp_path, "roles")
    train(cfg, run, progress=False)
    result = evaluate_run(run, episodes=1, baselines=())
    knee = sorted(k for k in result["policy"]["cci"] if k.startswith("knee"))
    assert knee == ["knee:BFSH-VAS", "knee:HAM-VAS"]  # the packaged file pairs GAS, not BFSH, with VAS
    assert make_report(run).is_file()


def learning_row(page: Path, task: str) -> dict[str, str]:
    """A task's row of the learning table (before the targets' table) on `page`, cells by header."""
    lines = page.read_text().split("Economy targets")[0].splitlines()
    header = next(line for line in lines if line.startswith("| task"))
    (row,) = [line for line in lines if line.startswith(f"| {task} ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    return dict(zip([h.strip() for h in header.strip("|").split("|")], cells, strict=True))


@pytest.mark.slow
def test_learning_table_trains_on_a_model_file_and_scores_against_its_ceiling(
    tmp_path: Path, stronger_model: Path
) -> None:
    from neuroleg.agents.ceilings import ceiling_filename
    from neuroleg.agents.optimize import optimize

    assert cli_main(["learning", "--tasks", "SquatJump", "--timesteps", "0", "--runs-dir", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()  # every config is checked before anything trains
    missing = ["--ceilings", str(tmp_path / "no_such_folder")]
    assert cli_main(["learning", "--tasks", "SquatJump", "--runs-dir", str(tmp_path / "r"), *missing]) == 2
    assert not (tmp_path / "r").exists()
    folder, body = tmp_path / "ceilings", {"model_path": str(stronger_model)}
    own = optimize("SquatJump", 1, 4, env_kwargs=body, out=folder / ceiling_filename("SquatJump", body))
    out = tmp_path / "learning.md"
    args = ["learning", "--tasks", "SquatJump", "--timesteps", "128", "--runs-dir", str(tmp_path / "r")]
    assert cli_main([*args, "--model", str(stronger_model), "--ceilings", str(folder), "--out", str(out)]) == 0
    cells = learning_row(out, "SquatJump")
    assert cells["seeds (ok of run)"] == "1 of 1" and cells["steps"] == "128" and cells["CPUs"] == "2"
    (run,) = list((tmp_path / "r" / "runs").iterdir())
    result = json.loads((run / "evaluation.json").read_text())
    assert (run / "model.yaml").read_text() == stronger_model.read_text()  # trained on that body
    assert result["ceiling"]["score"] == own.score
    assert cells["of ceiling"] == f"{100 * result['policy']['task_score']['mean'] / own.score:.0f} %"
    assert cells["score: zero"] != "-" and cells["score: random"] != "-"  # evaluated beside the first seed


@pytest.mark.slow
def test_learning_over_seeds_runs_on_the_sweep_machinery(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the [distributed] extra")
    from neuroleg.agents.summary import mean_ci

    args = ["learning", "--tasks", "Posture", "--timesteps", "128", "--seeds", "2", "--runs-dir", str(tmp_path / "r")]
    out = tmp_path / "learning.md"
    assert cli_main([*args, "--out", str(out)]) == 0
    records = sorted((tmp_path / "r" / "trials").glob("*.json"))
    assert len(records) == 2
    data = [json.loads(p.read_text()) for p in records]
    assert sorted(r["seed"] for r in data) == [0, 1] and all(r["status"] == "ok" for r in data)
    cells = learning_row(out, "Posture")
    mean, half = mean_ci([r["task_score"] for r in data])
    assert cells["seeds (ok of run)"] == "2 of 2" and cells["score: policy"] == f"{mean:.3f} +- {half:.3f}"
    assert cells["config"] == LEARNING_ROWS["Posture"] and cells["CPUs"] == "1"  # SAC: one environment
    assert "*Measured by `neuroleg learning --seeds 2 --tasks Posture --timesteps 128`" in out.read_text()
    # graded against the packaged Posture ceiling's mean over the evaluation's own targets
    ceiling = stored_ceiling("Posture")
    assert ceiling is not None
    held = ceiling.over(EVALUATION_SEED, load_config(resolve_config(LEARNING_ROWS["Posture"])).eval_episodes)
    assert held is not None
    fraction = np.mean([r["task_score"] for r in data]) / held[0]
    assert f"| Posture | >= 80% of the ceiling | {fraction:.0%} | no |" in out.read_text()
    # started again it trains nothing: every trial has its record
    before = [p.read_text() for p in records]
    assert cli_main(args) == 0
    assert [p.read_text() for p in records] == before
    # another budget is another trial
    assert cli_main(["learning", "--tasks", "Posture", "--timesteps", "256", "--runs-dir", str(tmp_path / "r")]) == 0
    assert len(list((tmp_path / "r" / "trials").glob("*.json"))) == 3


def test_the_economy_targets_are_met_or_not_by_the_means_over_seeds() -> None:
    from neuroleg.agents.learning import targets_table

    def record(trial: str, task: str, fraction: float, ratio: float) -> dict:
        return {
            "trial": trial,
            "task": task,
            "status": "ok",
            "fraction_of_ceiling": fraction,
            "energy_to_ceiling": ratio,
        }

    records = [
        record("a", "SquatJump", 0.98, 0.9),
        record("b", "SquatJump", 0.97, 1.0),  # mean 97.5 % at 0.95x: met
        record("c", "Pedal", 1.0, 2.8),  # a score to spare does not buy the energy: not met
        record("d", "Pedal", 0.99, 1.1),
        {"trial": "e", "task": "Pedal", "status": "failed"},  # failed trials do not count
    ]
    table = targets_table(records, {"a", "b", "c", "d", "e"}, ["SquatJump", "Pedal", "Hop"], {})
    assert "| SquatJump | >= 97% of the ceiling at <= 1x its energy | 98% at 0.95x | yes |" in table
    assert "| Pedal | >= 95% of the ceiling at <= 1.25x its energy | 100% at 1.95x | no |" in table
    hop = ">= 95% of the ceiling at <= 1.1x its energy, hop_flight_height_m at least the ceiling's"
    assert f"| Hop | {hop} | - | - |" in table  # no trial of it
    # Hop's flights must also be the ceiling's size or larger
    hops = [record("f", "Hop", 0.99, 1.0), record("g", "Hop", 0.97, 1.05)]
    ceiling = {"Hop": {"hop_flight_height_m": 0.004}}
    for r, flight in zip(hops, (0.006, 0.004), strict=True):
        r["metric_hop_flight_height_m"] = flight
    table = targets_table(hops, {"f", "g"}, ["Hop"], ceiling)
    assert f"| Hop | {hop} | 98% at 1.02x, hop_flight_height_m 1.2x the ceiling's | yes |" in table
    hops[1]["metric_hop_flight_height_m"] = 0.001  # a bounce on the toes: mean 3.5 mm under the ceiling's 4
    assert "0.9x the ceiling's | no |" in targets_table(hops, {"f", "g"}, ["Hop"], ceiling)
    del hops[0]["metric_hop_flight_height_m"], hops[1]["metric_hop_flight_height_m"]  # records without it
    assert "not recorded | no |" in targets_table(hops, {"f", "g"}, ["Hop"], ceiling)
    # the countermovement jump must dip past 3 cm; Posture's target is precision alone
    jumps = [record("h", "CMJ", 0.93, 0.8), record("i", "CMJ", 0.91, 1.4), record("j", "Posture", 0.85, 3.0)]
    for r, dip in zip(jumps, (0.2, 0.1, 0.0), strict=True):
        r["metric_dip_m"] = dip
    table = targets_table(jumps, {"h", "i", "j"}, ["CMJ", "Posture"], {})
    assert "| CMJ | >= 90% of the ceiling, dip_m at least 0.03 | 92%, dip_m 0.15 | yes |" in table
    assert "| Posture | >= 80% of the ceiling | 85% | yes |" in table
    jumps[0]["metric_dip_m"] = jumps[1]["metric_dip_m"] = 0.01  # pushed without dipping
    assert "dip_m 0.01 | no |" in targets_table(jumps, {"h", "i"}, ["CMJ"], {})
    # a target not met names what was tried, a met one does not
    tried = {"CMJ": "[cmj sweep](sweeps/cmj.md)", "Posture": "[posture sweep](sweeps/posture.md)"}
    table = targets_table(jumps, {"h", "i", "j"}, ["CMJ", "Posture"], {}, tried)
    assert "dip_m 0.01 | no | [cmj sweep](sweeps/cmj.md) |" in table and "| 85% | yes |  |" in table


def test_what_was_tried_links_the_sweep_page_only_where_it_is_beside_the_learning_page(tmp_path: Path) -> None:
    from neuroleg.agents.learning import EVIDENCE, tried_pages

    task, (page, *others) = next(iter(EVIDENCE.items()))
    unlinked = ", ".join(f"`{p}`" for p in (page, *others))
    assert tried_pages(tmp_path / "learning.md")[task] == unlinked  # none there: their paths
    (tmp_path / page).parent.mkdir(parents=True)
    (tmp_path / page).write_text("# a sweep\n")
    linked = ", ".join([f"[{Path(page).stem}]({page})", *(f"`{p}`" for p in others)])
    assert tried_pages(tmp_path / "learning.md")[task] == linked
