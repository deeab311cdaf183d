"""commae.config: one table of options from which the CLI, config.json's schema, --config files, --resume and the dataclasses derive."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commae import config, schemas
from commae.cli import cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--k", "2", "--hidden", "8", "--epochs", "1", "--batches-per-epoch", "1", "--batch-size", "64", "--val-size", "256", "--quiet"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=_env(), timeout=300)


def test_importing_config_imports_neither_torch_nor_click():
    done = _python("import sys, commae.config; print(sorted(m for m in ('torch', 'click', 'numpy') if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_dataclasses_are_the_table_in_config_json_order():
    from commae.models import SystemConfig
    from commae.training import TrainConfig

    for cls, section in ((SystemConfig, "system"), (TrainConfig, "train")):
        assert {f.name for f in dataclasses.fields(cls)} == {o.name for o in config.fields(section)}
        assert all(f.default == config.default(f.name) for f in dataclasses.fields(cls))
    # config.json's bytes: the keys in the order runs have always written them
    assert json.dumps(dataclasses.asdict(SystemConfig())) == (
        '{"k": 4, "n": 1, "real": false, "channel": "awgn", "fading": "fast", "csi": true, "output": "symbol", "hidden": 128, "normalization": "batch", '
        '"constellation": false, "k_factor": null, "phase_noise": 0.0, "phase_noise_model": "iid", "adc_bits": null, "adc_clip": 1.5, "pa": null, '
        '"pa_smoothness": 3.0, "pa_saturation": 1.0, "pa_backoff": 0.0, "rx_layers": 2, "shaping": "geometric", "noise_input": false}'
    )
    assert json.dumps(dataclasses.asdict(TrainConfig())) == (
        '{"ebno_db": [7.0, 7.0], "loss": "ce", "optimizer": "adam", "lr": 0.003, "momentum": 0.0, "nesterov": false, "weight_decay": 0.0, '
        '"schedule": "cosine", "epochs": 30, "batch_size": 1024, "batches_per_epoch": 100, "accumulate": 1, "amp": false, "clip": null, '
        '"patience": null, "val_size": 100000, "seed": 0, "device": "cpu", "training": "backprop", "exploration": 0.02, "esno_db": null}'
    )


def test_a_dataclass_cannot_spell_a_default_or_a_field_of_its_own():
    with pytest.raises(TypeError, match=r"Bad\.lr = 0\.1 but commae\.config's default is 0\.003; write default\('lr'\)"):

        @config.dataclass_of("train")
        class Bad:
            lr: float = 0.1

    with pytest.raises(TypeError, match="Worse.width is not a 'system' option"):

        @config.dataclass_of("system")
        class Worse:
            width: int = 3

    @config.dataclass_of("system")
    class Short:  # a table field not declared is added after the declared ones
        n: int = config.default("n")

    names = [f.name for f in dataclasses.fields(Short)]
    assert names[0] == "n" and set(names) == {o.name for o in config.fields("system")}


@pytest.mark.parametrize("command", ["train", "ber-curve", "info"])
def test_each_click_option_is_its_table_entry(command):
    """Flag, default, help, type: a command's option from the table is the table's, on every command that takes it."""
    params = {p.name: p for p in cli.commands[command].params}
    entries = config.options(command)
    assert entries, command
    for option in entries:
        param = params[option.param]
        assert param.help == option.help_for(command), option.name
        assert param.opts[0] == option.flags[0].split("/")[0], option.name
        if option.name != "config":  # --config is eager and fills the defaults from a file
            assert param.default == option.cli_default, option.name
        assert isinstance(param.type, click.types.BoolParamType) == (option.type is bool), option.name
    if command == "train":  # every option of train is in the table
        assert {p.name for p in cli.commands["train"].params} == {o.param for o in entries}


def test_the_shared_options_read_the_same_on_every_command():
    for name in (*config.IMPAIRMENTS, "threads"):
        texts = {cmd: next(p for p in cli.commands[cmd].params if p.name == name).get_help_record(click.Context(cli.commands[cmd])) for cmd in ("train", "ber-curve", "info")}
        assert len(set(texts.values())) == 1, texts


def test_the_policy_sets_of_the_cli_are_the_table_s():
    from commae.runs import naming, resume

    assert naming.OPERATIONAL == {"device", "quiet", "out", "force", "resume", "dry_run", "tensorboard", "threads", "config"}
    assert resume.RESUMABLE == naming.OPERATIONAL | {"epochs"}
    assert naming.NAMED == {"k", "n", "real", "channel", "fading", "csi", "snr", "esno", "loss", "points", "noise_input", "normalization", "hidden", "optimizer", "lr", "seed"}
    assert config.IMPAIRMENTS == ("k_factor", "phase_noise", "phase_noise_model", "adc_bits", "adc_clip", "pa", "pa_smoothness", "pa_saturation", "pa_backoff")


RULE_CASES = [
    # values, given, the command line's message, config.json's message
    ({"optimizer": "adamw", "momentum": 0.5}, (), "--momentum applies to --optimizer sgd only", "'train.momentum' applies to 'train.optimizer' 'sgd' only"),
    ({"exploration": 0.1}, ("exploration",), "--exploration needs --training model-free", None),
    ({"channel": "rician"}, (), "--channel rician needs --k-factor K", "'system.channel' 'rician' needs 'system.k_factor' K"),
    (
        {"k_factor": 3.0, "channel": "rayleigh"},
        (),
        "--k-factor applies to --channel rician only (got --channel rayleigh)",
        "'system.k_factor' applies to 'system.channel' 'rician' only (got 'system.channel' 'rayleigh')",
    ),
    ({"real": True, "channel": "rayleigh"}, (), "--real needs --channel awgn (rayleigh fading acts on complex channel uses)", "'system.real' needs 'system.channel' 'awgn'"),
    ({"real": True, "phase_noise": 0.1}, (), "--phase-noise needs complex channel uses (drop --real)", "'system.phase_noise' needs complex channel uses (drop 'system.real')"),
    ({}, ("phase_noise_model",), "--phase-noise-model needs --phase-noise SIGMA > 0", None),
    ({"adc_clip": 1.5}, ("adc_clip",), "--adc-clip needs --adc-bits B", None),
    ({}, ("pa_saturation",), "--pa-saturation needs --pa rapp", None),
    ({"fading": "block"}, ("fading",), "--fading applies to the fading channels (rayleigh, rician) only, not --channel awgn", None),
    ({"csi": False}, ("csi",), "--no-csi applies to the fading channels (rayleigh, rician) only, not --channel awgn", None),
    ({"constellation": True, "n": 2}, (), "--points needs --n 1 and complex channel uses (no --real)", "'system.constellation' needs 'system.n' 1"),
    ({"nesterov": True, "optimizer": "sgd"}, (), "--nesterov needs --optimizer sgd and --momentum > 0", "'train.nesterov' needs 'train.optimizer' 'sgd' and 'train.momentum' > 0"),
    ({"loss": "bce"}, (), None, "'train.loss' 'bce' does not fit 'system.output' 'symbol': ce goes with symbol, bce with bit"),
    ({"esno_db": (10.0, 10.0), "k": 2}, (), None, "'train.ebno_db' [7.0, 7.0] is not the Eb/N0 of 'train.esno_db' [10.0, 10.0] for k=2, n=1"),
    ({"ebno_db": (7.0, 120.0)}, (), None, "'train.ebno_db' is [7.0, 120.0]; it must be [low, high] in dB with low <= high, both finite and within ±100 (as --snr)"),
]


@pytest.mark.parametrize(("values", "given", "as_option", "as_key"), RULE_CASES, ids=[f"{i}" for i in range(len(RULE_CASES))])
def test_one_validator_says_each_refusal_as_the_command_line_and_as_the_file(values, given, as_option, as_key):
    with pytest.raises(config.ConfigError) as info:
        config.check_combinations(values, given)
    if as_option is not None:
        assert as_option in info.value.message("option")
    if as_key is not None:
        assert as_key in str(info.value)
    if given:  # a rule about a given option: a stored value (nothing given) passes, so a run's config.json reads back
        config.check_combinations(values)


def test_the_defaults_pass_and_every_rule_names_an_option():
    config.check_combinations({})
    names = {o.name for o in config.OPTIONS}
    assert all(rule.option in names for rule in config.RULES)


def test_an_option_set_by_a_config_file_is_refused_naming_the_file(tmp_path):
    toml = tmp_path / "exp.toml"
    toml.write_text('fading = "block"\n')
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--dry-run", *TINY])
    assert result.exit_code == 2, result.output
    assert f"--fading applies to the fading channels (rayleigh, rician) only, not --channel awgn (set in {toml})" in result.output
    toml.write_text('fading = "fast"\nadc_clip = 1.5\n')  # the defaults: nothing that does not apply
    assert CliRunner().invoke(cli, ["train", "--config", str(toml), "--dry-run", *TINY]).exit_code == 0


def test_ber_curve_refuses_channel_options_that_only_baselines_use(tmp_path):
    result = CliRunner().invoke(cli, ["ber-curve", str(tmp_path), "--channel", "rayleigh"])
    assert result.exit_code == 2
    assert "--channel sets the baselines' channel and a run uses its own: add --baseline NAME" in result.output


ADD_AN_OPTION = """
    import json, sys
    from commae import config

    # the one place: a new option of the "train" table
    config.OPTIONS += (config.Option("warmup", "train", config.Int(0, 100), 0, "Epochs of learning-rate warm-up (an option added by a test).", unit="epochs"),)

    from click.testing import CliRunner
    from commae import schemas
    from commae.cli import cli
    from commae.config_files import read_train_options

    out, toml = sys.argv[1], sys.argv[2]
    runner = CliRunner()
    report = {"help": runner.invoke(cli, ["train", "--help"]).output}
    run = runner.invoke(cli, ["train", "--warmup", "3", "--out", out, *sys.argv[3:]])
    report["run"] = (run.exit_code, run.output)
    raw = json.loads(open(out + "/config.json").read())
    report["stored"] = raw["train"].get("warmup")
    report["checked"] = schemas.check_config(raw)[1]["warmup"]
    raw["train"]["warmup"] = 101
    try:
        schemas.check_config(raw)
    except schemas.SchemaError as exc:
        report["refused"] = str(exc)
    report["toml"] = read_train_options(toml)
    resumed = runner.invoke(cli, ["train", "--out", out, "--resume", "--warmup", "4"])
    report["resume"] = (resumed.exit_code, resumed.output)
    print("REPORT", json.dumps(report))
"""


def test_an_option_added_in_one_place_is_in_help_config_json_the_schema_files_and_resume(tmp_path):
    toml = tmp_path / "exp.toml"
    toml.write_text("warmup = 2\n")
    done = _python(ADD_AN_OPTION, str(tmp_path / "run"), str(toml), *TINY)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.split("REPORT ", 1)[1])
    assert "--warmup INTEGER RANGE" in report["help"] and "Epochs of learning-rate warm-up" in report["help"]
    assert report["run"][0] == 0, report["run"][1]
    assert report["stored"] == 3 and report["checked"] == 3
    assert report["refused"] == "config.json: 'train.warmup' is 101; it must be an integer from 0 to 100 (as --warmup)"
    assert report["toml"] == {"warmup": 2}
    assert report["resume"][0] == 2 and "--warmup cannot change when resuming" in report["resume"][1]


def test_schemas_reexports_the_checks_and_limits():
    assert schemas.Int is config.Int and schemas.DB_LIMIT == config.DB_LIMIT == 100.0
    assert schemas.TRAIN_FIELDS["lr"] == (config.Real(0, None, lo_open=True), "--lr")
    assert schemas.SYSTEM_FIELDS["constellation"][1] == "--points" and schemas.TRAIN_FIELDS["esno_db"][1] == "--snr with --esno"


# issue 23.7: train's --help in sections, limits a user can read


def test_train_help_lists_its_options_in_sections_from_the_table():
    text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=100).output
    headings = [line[:-1] for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings == ["System", "Channel", "Impairments", "Training", "Run", "Output", "Options"], headings
    sections = {}
    for block in text.split("\n\n"):
        title, _, body = block.partition(":\n")
        sections[title.strip()] = body
    for option in config.options("train"):  # each option under its group's heading, and only there
        flag = option.flags[0].split("/")[0]
        holders = [title for title, body in sections.items() if re.search(rf"^  (-\w, )?{re.escape(flag)}(?=\s)", body, re.M)]
        assert holders == [config.HELP_SECTIONS[option.group]], (flag, holders)
    assert text.index("--pa-backoff") < text.index("--config")  # the impairments come before the run's options
    assert all(option.group in config.HELP_SECTIONS for option in config.OPTIONS)


def test_machine_limits_do_not_print_as_ranges_but_are_still_refused():
    text = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "9223372036854775807" not in text and "2147483647" not in text
    assert re.search(r"--seed INTEGER RANGE[\s\S]*?\[default: 0; x>=0\]", text)
    assert "1<=x<=12]" in text and "1<=x<=16777216]" in text  # real limits stay
    refused = CliRunner().invoke(cli, ["train", "--seed", str(2**63), "--dry-run"])
    assert refused.exit_code == 2 and "0<=x<=9223372036854775807" in refused.output, refused.output
    refused = CliRunner().invoke(cli, ["train", "--epochs", "0", "--dry-run"])
    assert refused.exit_code == 2 and "0 is not in the range 1<=x<=2147483647" in refused.output, refused.output
