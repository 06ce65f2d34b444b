"""What a newcomer meets first: argument errors, loading a run, the package and the command line."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import neuroleg
from neuroleg.agents.config import ConfigError, load_config, resolve_config
from neuroleg.agents.runs import RunDir
from neuroleg.agents.train import train
from neuroleg.envs import ENV_IDS, ENV_VERSION
from neuroleg.envs.arguments import BodyArgs
from neuroleg.envs.physiology import MUSCLE_NAMES
from neuroleg.envs.tasks import TASKS
from neuroleg.scripts.cli import build_parser
from neuroleg.scripts.cli import main as cli_main
from neuroleg.scripts.measure import DefaultsFormatter

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"elastic_tendon": "false"}, "elastic_tendon: Input should be a valid boolean"),
        ({"motor_units": "no"}, r"motor_units: .*must be True \(rate coding\), 'discharge'"),
        ({"rate_scale": "x"}, "rate_scale"),
        ({"recruitment_limit": float("nan")}, "recruitment_limit"),
        ({"drive_rise_s": 2.0}, "drive_rise_s: Input should be less than or equal to 1"),
        ({"target_height_m": "8 cm"}, "target_height_m: Input should be a valid number"),
        ({"bogus": 1}, "bogus: unknown argument; allowed: energy_weight"),
    ],
)
def test_wrong_types_and_values_are_refused_by_name(kwargs: dict, named: str) -> None:
    with pytest.raises((TypeError, ValueError), match=named):
        gym.make(ENV_IDS["Hop"], **kwargs)


def test_body_and_task_arguments_are_named_together() -> None:
    with pytest.raises(ValueError, match=r"motor_units: .*target_height_m: "):
        gym.make(ENV_IDS["Hop"], motor_units="no", target_height_m="8 cm")


def test_a_config_refuses_wrong_types_too_and_reads_yaml_floats(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"env\.elastic_tendon"):
        load_config(resolve_config("posture_smoke"), ['env.elastic_tendon="false"'])
    with pytest.raises(ConfigError, match=r"n_envs"):
        load_config(resolve_config("posture_smoke"), ['n_envs="2"'])
    assert load_config(resolve_config("posture_smoke"), ["algo.learning_rate=1e-4"]).algo.learning_rate == 1e-4


def test_the_arguments_are_declared_once() -> None:
    from neuroleg.agents.config import TASK_ARGS, EnvConfig
    from neuroleg.envs.leg_env import LegEnv

    assert set(BodyArgs.model_fields) <= set(EnvConfig.model_fields)
    assert all(TASK_ARGS[name] is task.Args for name, task in TASKS.items())
    hop = gym.make(ENV_IDS["Hop"]).unwrapped
    assert isinstance(hop, LegEnv)
    assert hop.argument_names() == [*BodyArgs.model_fields, "render_mode", "target_frequency_hz", "target_height_m"]


def test_load_run_round_trip(tmp_path: Path) -> None:
    from neuroleg.agents.evaluate import model_policy

    cfg = load_config(resolve_config("posture_smoke"), ["total_timesteps=256"])
    run = RunDir.create(cfg, tmp_path, "lr")
    model = train(cfg, run, progress=False)
    loaded = neuroleg.load_run(run.path)
    env = loaded.make_env()
    assert env.spec is not None and env.spec.id == ENV_IDS["Posture"]
    obs, _ = env.reset(seed=3)
    action, _ = loaded.predict(obs)
    assert action.shape == (9,) and action.dtype == np.float32 and np.all((action >= -1) & (action <= 1))
    # what training saw: normalised observations in, actions in the environment's own [-1, 1] out
    venv = model.get_env()
    expected, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    np.testing.assert_allclose(action, np.clip(expected, -1, 1), atol=1e-6)
    np.testing.assert_allclose(model_policy(run, cfg)(obs, True), (action + 1) / 2, atol=1e-6)  # as drives
    # a bare policy without the normalisation acts differently: the reason load_run exists
    raw, _ = model.predict(obs, deterministic=True)
    assert not np.allclose(np.clip(raw, -1, 1), action)


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)


def test_import_neuroleg_registers_the_ids_and_prints_nothing() -> None:
    done = _fresh_python(
        "import gymnasium, neuroleg; env = gymnasium.make(neuroleg.ENV_IDS['Hop']); env.reset(seed=0); print('ok')"
    )
    assert done.stdout == "ok\n"
    assert done.stderr == ""  # no PyBullet build-time banner, no 'argv[0]='


def test_the_package_version_follows_the_environment_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert int(neuroleg.__version__.split(".")[0]) == ENV_VERSION
    with pytest.raises(SystemExit) as done:
        cli_main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"neuroleg {neuroleg.__version__}"
    cff = (REPO / "CITATION.cff").read_text()
    assert f'version: "{neuroleg.__version__}"' in cff
    assert f"## {neuroleg.__version__} (environment v{ENV_VERSION})" in (REPO / "CHANGELOG.md").read_text()


def test_every_cli_option_has_help_and_shows_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    (experiments,) = [a for a in sub.choices["experiment"]._actions if isinstance(a, argparse._SubParsersAction)]
    commands = {**sub.choices, **{f"experiment {k}": v for k, v in experiments.choices.items()}}
    for name, command in commands.items():
        assert command.formatter_class is DefaultsFormatter, name
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.dest}"
        text = " ".join(command.format_help().split())
        # a default is shown once where there is one to show, never "None" or a flag's "False"
        assert "(default: None)" not in text and "(default: False)" not in text, name
        assert text.count("(default") == sum(
            1 for a in command._actions if a.default not in (None, argparse.SUPPRESS) and a.nargs != 0
        ) + sum(1 for a in command._actions if a.default is None and "(default" in (a.help or "")), name
    assert cli_main(["configs"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    from neuroleg.agents.config import packaged_configs

    assert listed == packaged_configs()


def test_the_manual_generates_its_reference_from_the_schema() -> None:
    spec = importlib.util.spec_from_file_location("reference_hook", REPO / "docs" / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    body = hook._reference("body")
    for name, field in BodyArgs.model_fields.items():
        assert f"`{name}`" in body and (field.description or "") in body
    assert "`squat_knee_deg` | float | 80.0 | 40.0 to 120.0" in hook._reference("task SquatJump")
    page = "x <!-- reference: task Hop --> y"
    out = hook.on_page_markdown(page, None, {"config_file_path": str(REPO / "mkdocs.yml")}, None)
    assert "target_frequency_hz" in out and "<!--" not in out


def test_frames_carry_time_a_colour_key_and_posture_s_target() -> None:
    env = gym.make(ENV_IDS["Posture"], render_mode="rgb_array")
    env.reset(seed=2)
    first = env.render()
    env.step(np.zeros(9, np.float32))
    second = env.render()
    assert first.shape == second.shape and first.dtype == np.uint8
    top_left = (slice(0, 20), slice(0, 80))  # the time stamp changed; the key (top right) did not
    assert not np.array_equal(first[top_left], second[top_left])
    assert np.array_equal(first[:30, -110:], second[:30, -110:])
    green = (first[..., 1] > 120) & (first[..., 0] < 60) & (first[..., 2] < 100)  # the target's cross
    assert green.sum() > 10
    hop = gym.make(ENV_IDS["Hop"], render_mode="rgb_array")
    hop.reset(seed=0)
    frame = hop.render()
    assert not ((frame[..., 1] > 120) & (frame[..., 0] < 60) & (frame[..., 2] < 100)).any()  # no target


def test_gymnasium_record_video_works(tmp_path: Path) -> None:
    pytest.importorskip("moviepy", reason="the [video] extra")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(gym.make(ENV_IDS["SquatJump"], render_mode="rgb_array"), str(tmp_path), disable_logger=True)
    env.reset(seed=0)
    done = False
    while not done:
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
    (video,) = tmp_path.glob("*.mp4")
    assert video.stat().st_size > 1000


def test_the_report_explains_each_figure_and_shows_the_task_fields(tmp_path: Path) -> None:
    from neuroleg.agents.evaluate import evaluate_run
    from neuroleg.agents.report import make_report

    cfg = load_config(resolve_config("posture_smoke"), ["total_timesteps=128"])
    run = RunDir.create(cfg, tmp_path, "rep")
    train(cfg, run, progress=False)
    evaluate_run(run, episodes=1, baselines=("zero",))
    page = make_report(run).read_text()
    assert "**Score**: precision" in page and "per reach" in page
    figures = ("activation.png", "joint_angles.png", "task_fields.png", "motor_units.png", "energy_by_muscle.png")
    for figure in figures:
        assert (run.path / "report" / figure).is_file()
        title_and_caption = page.split(f"]({figure})")[0].rsplit("## ", 1)[1]
        caption = title_and_caption.split("\n\n")[1]
        assert len(caption) > 40, figure
    assert "type II units have left" not in page  # no fatigue: no capacity panel


def test_the_evaluation_says_how_much_the_energy_term_weighs_in_the_reward(tmp_path: Path) -> None:
    from neuroleg.agents.evaluate import energy_share, evaluate_run, format_table

    assert energy_share(-1.0, 3.0) == 0.25 and energy_share(-1.0, -3.0) == 0.25 and energy_share(0.0, 0.0) == 0.0
    shares = {}
    for weight in (0.0, 5.0):
        cfg = load_config(resolve_config("hop_smoke"), ["total_timesteps=128", f"env.energy_weight={weight}"])
        run = RunDir.create(cfg, tmp_path, f"w{weight:g}")
        train(cfg, run, progress=False)
        result = evaluate_run(run, episodes=1, baselines=())
        shares[weight] = result["policy"]["reward_energy_share"]["mean"]
        assert "energy term's share of the policy's reward" in format_table(result)
    assert shares[0.0] == 0.0 and 0.0 < shares[5.0] < 1.0


def test_a_fatigue_run_reports_per_muscle_units_power_and_capacity_over_time(tmp_path: Path) -> None:
    from neuroleg.agents.evaluate import evaluate_run
    from neuroleg.agents.report import make_report

    cfg = load_config(resolve_config("pedal_smoke"), ["total_timesteps=128", "env.fatigue=true"])
    run = RunDir.create(cfg, tmp_path, "tired")
    train(cfg, run, progress=False)
    evaluate_run(run, episodes=1, baselines=())
    traj = np.load(run.path / "trajectory.npz")
    steps = len(traj["activation"])
    for key in ("recruited", "type2", "muscle_power", "capacity_type2"):
        assert traj[key].shape == (steps, 9), key
    assert np.all(traj["muscle_power"] >= 0.0) and traj["muscle_power"].sum() > 0.0
    energy = json.loads(run.evaluation_path.read_text())["policy"]["energy_by_muscle_j"]["total"]
    # the per-step powers add up to the episode's energy per muscle (one episode: its mean is itself)
    assert np.allclose(traj["muscle_power"].sum(axis=0) * float(traj["dt"]), [energy[m] for m in MUSCLE_NAMES])
    assert np.all(traj["capacity_type2"] <= 1.0) and traj["capacity_type2"][-1].min() < 1.0  # units tired
    assert "type II units have left" in make_report(run).read_text()


def test_the_command_line_answers_without_loading_torch() -> None:
    done = _fresh_python(
        "import sys, neuroleg.scripts.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'matplotlib.pyplot') if m in sys.modules))"
    )
    assert done.stdout.strip() == "[]"


def test_a_results_stamp_names_its_commit_and_what_changed_beside_it(tmp_path: Path, monkeypatch) -> None:
    from neuroleg.agents.provenance import git_commit, stamp

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "page.md").write_text("old\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "c")
    head = git("rev-parse", "--short", "HEAD").strip()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "page.md").write_text("new figures\n")  # what the command itself writes
    assert git_commit(written=tmp_path / "results") == head
    assert git_commit() == f"{head}+changes"
    (tmp_path / "code.py").write_text("x = 2\n")  # the code measured differs from the commit
    assert git_commit(written=tmp_path / "results") == f"{head}+changes"
    assert f"commit {head}+changes" in stamp("neuroleg validate", tmp_path / "results")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "page.md").write_text("old\n")  # the checkout as committed
    assert git_commit(written=tmp_path.parent / "elsewhere") == head  # results written outside the checkout
    monkeypatch.chdir(tmp_path.parent)
    assert git_commit(folder=tmp_path.parent / "nowhere") == "unknown"
